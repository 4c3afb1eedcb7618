import CaptionMetrics
import DataPipeline
import Foundation
import TensorCore
import TrainingKit

/// The images of a validation pass and their references, gathered batch by batch: an image is a sample key, so rows that
/// share one (a CSV image with several captions) add references to one image, which is captioned once; a sample's `json`
/// member adds every string of its `captions` list (other than the row's own caption).
struct ValidationReferences {
    /// Keys in the order their first row was read.
    private(set) var keys: [String] = []
    private var references: [String: [String]] = [:]
    private var candidates: [String: String] = [:]
    /// The L2-normalised image latent of each image, in `keys` order.
    private(set) var latents: [Float] = []
    /// Keys added by the last `add` and not yet given candidates.
    private var pending: [String] = []

    /// Adds a batch's rows; returns the slots whose image is new, which the caller captions and passes to `setCandidates`.
    mutating func add(_ batch: Batch) throws -> [Int] {
        let jsons = batch.fields.bytes[.json]
        var newSlots: [Int] = []
        pending = []
        for slot in 0..<batch.count {
            let key = batch.keys[slot], caption = batch.captions[slot]
            if references[key] == nil {
                keys.append(key)
                pending.append(key)
                newSlots.append(slot)
                references[key] = []
            }
            let listed = try Self.jsonCaptions(jsons?[slot] ?? [], sample: key)
            references[key]! += [caption] + listed.filter { $0 != caption }
        }
        return newSlots
    }

    /// The generated captions and image latents [new images, dim] of the slots the last `add` returned, in that order.
    mutating func setCandidates(_ captions: [String], latents newLatents: [Float]) {
        precondition(captions.count == pending.count, "ValidationReferences: one caption per new image")
        for (key, caption) in zip(pending, captions) { candidates[key] = caption }
        latents += newLatents
        pending = []
    }

    /// One example per image, in reading order, with the sample key as its id.
    var examples: [CaptionExample] {
        keys.map { CaptionExample(id: $0, references: references[$0]!, candidate: candidates[$0] ?? "") }
    }

    /// The strings of a JSON object's `captions` list; none for an empty member or an object without the list.
    static func jsonCaptions(_ bytes: [UInt8], sample: String) throws -> [String] {
        guard !bytes.isEmpty else { return [] }
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw TrainingError("\(sample): its json member is not a JSON object")
        }
        guard let list = object["captions"] else { return [] }
        guard let captions = list as? [String] else { throw TrainingError("\(sample): json \"captions\" is not a list of strings") }
        return captions.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }
}

extension Tensor {
    /// Rows `indices` of the first axis (e.g. some images of a batch [B, 3, H, W]), without a tape entry.
    func rows(_ indices: [Int]) -> Tensor {
        let rowSize = count / shape[0]
        let values = self.values
        return Tensor(shape: [indices.count] + shape.dropFirst(), values: indices.flatMap { values[($0 * rowSize)..<(($0 + 1) * rowSize)] })
    }
}
