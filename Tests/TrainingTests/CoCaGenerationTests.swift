import CoCa
import NN
import TensorCore
import Training
import XCTest

/// Greedy captions with key/value caches equal OpenCLIP's `generate()` token ids (which re-runs the whole prefix).
final class CoCaGenerationTests: XCTestCase {
    func testGreedyCaptionsEqualOpenCLIPs() throws {
        let model = try CoCaParity(fixture: FixturePaths.cocaTiny).makeModel()
        let stored = try Safetensors.read(FixturePaths.cocaTiny + "/batch.safetensors").tensors
        let generated = try Safetensors.read(FixturePaths.cocaTiny + "/generation.safetensors").tensors
        let indices = generated["image_index"]!.integers.map { Int($0) }
        let images = Tensor.concatenate(indices.map { stored["images"]!.tensor.slice(axis: 0, $0..<($0 + 1)) }, axis: 0)
        for (key, end) in [("eot.greedy", Int32(999)), ("probe.greedy", Int32(927))] {
            let reference = generated[key]!
            let ours = model.greedyCaptions(images: images, limits: CaptionLimits(startTokenId: 998, endTokenId: end, maxLength: 10, minLength: 5))
            let width = reference.shape[1]
            let expected = (0..<reference.shape[0]).map { b in reference.integers[(b * width)..<((b + 1) * width)].map { Int32($0) } }
            XCTAssertEqual(ours, expected, key)
        }
    }
}
