import CoCa
import NN
import TensorCore
import Training
import XCTest

/// Greedy and beam-search captions with key/value caches equal OpenCLIP's `generate()` token ids (which re-runs the
/// whole prefix).
final class CoCaGenerationTests: XCTestCase {
    /// The fixture's model, its generation images and OpenCLIP's outputs.
    func fixture() throws -> (model: CoCaModel, images: Tensor, generated: [String: StoredTensor]) {
        let model = try CoCaParity(fixture: FixturePaths.cocaTiny).makeModel()
        let stored = try Safetensors.read(FixturePaths.cocaTiny + "/batch.safetensors").tensors
        let generated = try Safetensors.read(FixturePaths.cocaTiny + "/generation.safetensors").tensors
        let indices = generated["image_index"]!.integers.map { Int($0) }
        return (model, Tensor.concatenate(indices.map { stored["images"]!.tensor.slice(axis: 0, $0..<($0 + 1)) }, axis: 0), generated)
    }

    func rows(_ reference: StoredTensor) -> [[Int32]] {
        let width = reference.shape[1]
        return (0..<reference.shape[0]).map { b in reference.integers[(b * width)..<((b + 1) * width)].map { Int32($0) } }
    }

    func testGreedyCaptionsEqualOpenCLIPs() throws {
        let (model, images, generated) = try fixture()
        for (key, end) in [("eot.greedy", Int32(999)), ("probe.greedy", Int32(927))] {
            let ours = model.greedyCaptions(images: images, limits: CaptionLimits(startTokenId: 998, endTokenId: end, maxLength: 10, minLength: 5))
            XCTAssertEqual(ours, rows(generated[key]!), key)
        }
    }

    /// Beam search (3 beams; 6 beams in 3 groups) gives OpenCLIP's ids and transformers' sequence scores.
    func testBeamSearchCaptionsEqualOpenCLIPs() throws {
        let (model, images, generated) = try fixture()
        for (key, end, beams, groups) in [("eot.beam3", Int32(999), 3, 1), ("probe.beam3", 927, 3, 1), ("eot.beam6g3", 999, 6, 3),
                                          ("probe.beam6g3", 927, 6, 3)] {
            let ours = model.beamSearchCaptions(images: images, limits: CaptionLimits(startTokenId: 998, endTokenId: end, maxLength: 10, minLength: 5),
                                                beams: beams, beamGroups: groups)
            XCTAssertEqual(ours.map(\.tokens), rows(generated[key]!), key)
            for (caption, score) in zip(ours, generated[key + ".sequence_scores"]!.floats) {
                XCTAssertEqual(caption.score, score, accuracy: 1e-5 * abs(score), key)
            }
        }
    }

    /// Searching all images' beams in one batch (finished images leaving it at different steps) gives each image the
    /// caption and score of searching it alone.
    func testBatchedBeamSearchEqualsSearchingEachImageAlone() throws {
        let (model, images, _) = try fixture()
        let content = { (row: [Int32], end: Int32) in Array(row.dropFirst().prefix { $0 != end && $0 != 0 }) }
        for (end, minLength) in [(Int32(999), 5), (927, 5), (927, 2)] {
            let limits = CaptionLimits(startTokenId: 998, endTokenId: end, maxLength: 10, minLength: minLength)
            let batched = model.beamSearchCaptions(images: images, limits: limits, beams: 3)
            for image in 0..<images.shape[0] {
                let alone = model.beamSearchCaptions(images: images.slice(axis: 0, image..<(image + 1)), limits: limits, beams: 3)[0]
                XCTAssertEqual(content(batched[image].tokens, end), content(alone.tokens, end), "end \(end), image \(image)")
                XCTAssertEqual(batched[image].score, alone.score, accuracy: 1e-5 * abs(alone.score), "end \(end), image \(image)")
            }
        }
    }
}
