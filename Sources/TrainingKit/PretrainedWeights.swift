import Checkpoint
import Foundation
import NN

/// Weights a model (or a part of it) starts from instead of its random initialisation: a SwiftCLIP checkpoint of any
/// family (a file, a checkpoints folder meaning its newest checkpoint that verifies, or its `latest` pointer) or an
/// OpenCLIP safetensors file. Families map their parameter names onto the source's, so one mechanism serves
/// `--init-image` / `--init-text`, a CLIP tower inside a CoCa or fusion model, and a distillation teacher.
public struct PretrainedWeights {
    public let path: String
    /// Every tensor of the source by name (a checkpoint's optimizer moments included; nobody asks for them).
    public let tensors: [String: StoredTensor]
    /// The family and model configuration a SwiftCLIP checkpoint records; nil for safetensors.
    public let family: String?
    public let modelConfig: JSONValue?
    /// The trained tokenizer a SwiftCLIP checkpoint records (its JSON), if its run trained one.
    public let tokenizer: String?

    public init(_ path: String) throws {
        self.path = path
        if path.hasSuffix(".safetensors") {
            guard FileManager.default.fileExists(atPath: path) else { throw TrainingError("\(path): no such weights file") }
            tensors = try Safetensors.read(path).tensors
            family = nil
            modelConfig = nil
            tokenizer = nil
            return
        }
        let checkpoint: LoadedCheckpoint
        do {
            guard let found = try CheckpointFile.locate(path, messages: { _ in }) else {
                throw TrainingError("\(path): no checkpoint in this folder")
            }
            checkpoint = found
        } catch CheckpointError.fileNotFound {
            throw TrainingError("\(path): no such checkpoint or safetensors file")
        }
        let identity: RecordedModel
        do { identity = try checkpoint.metadata(as: RecordedModel.self) } catch {
            throw TrainingError("\(checkpoint.url.path): header metadata records no model (\(error))")
        }
        family = identity.family ?? "clip"
        modelConfig = identity.model
        tokenizer = identity.tokenizer
        var byName: [String: StoredTensor] = [:]
        for t in checkpoint.tensors {
            byName[t.name] = StoredTensor(shape: t.shape, dtype: "F32", floats: t.values, integers: [])
        }
        tensors = byName
    }

    /// Copies into every parameter of `store` for which `sourceName` names a source tensor; parameters it maps to nil
    /// keep their values. Strict for what it maps: a missing or mis-shaped source tensor is an error naming both keys.
    /// Returns the number of parameters loaded, which must be positive (loading nothing means the names do not fit).
    @discardableResult
    public func load(into store: ParameterStore, sourceName: (String) -> String?) throws -> Int {
        var loaded = 0
        for p in store.parameters {
            guard let source = sourceName(p.name) else { continue }
            guard let t = tensors[source] else {
                throw TrainingError("\(path): has no tensor \(source) for parameter \(p.name) (shape \(p.shape))")
            }
            guard t.shape == p.shape, t.floats.count == p.count else {
                throw TrainingError("\(path): tensor \(source) has shape \(t.shape), parameter \(p.name) needs \(p.shape)")
            }
            t.floats.withUnsafeBufferPointer { p.pointer.update(from: $0.baseAddress!, count: p.count) }
            loaded += 1
        }
        guard loaded > 0 else { throw TrainingError("\(path): none of its tensors fits the parameters asked for") }
        return loaded
    }

    /// Loads every parameter under `targetPrefix` from the source's tensor of the same name with `sourcePrefix` instead.
    @discardableResult
    public func load(into store: ParameterStore, prefix targetPrefix: String, from sourcePrefix: String) throws -> Int {
        try load(into: store) { name in
            name.hasPrefix(targetPrefix) ? sourcePrefix + name.dropFirst(targetPrefix.count) : nil
        }
    }

    /// The part of a checkpoint's header this reads (the engine's `CheckpointMetadata` records more).
    private struct RecordedModel: Decodable {
        var family: String?
        var model: JSONValue
        var tokenizer: String?
    }
}
