@testable import CoCa
import Foundation
import NN
import TensorCore
import Training
import XCTest

/// Top-k / top-p sampling, the repetition penalty and beam search's length penalty on the fixture model.
final class CoCaSamplingTests: XCTestCase {
    let limits = CaptionLimits(startTokenId: 998, endTokenId: 999, maxLength: 10, minLength: 5)

    func fixture() throws -> (model: CoCaModel, images: Tensor) {
        let model = try CoCaParity(fixture: FixturePaths.cocaTiny).makeModel()
        let stored = try Safetensors.read(FixturePaths.cocaTiny + "/batch.safetensors").tensors
        return (model, stored["images"]!.tensor.slice(axis: 0, 0..<3))
    }

    func testTopKKeepsTheKLargestAndTies() {
        let kept = CaptionSampling(filter: .topK(2)).filtered([1, 3, 2, 3, 0])
        XCTAssertEqual(kept, [-.infinity, 3, -.infinity, 3, -.infinity])
        XCTAssertEqual(CaptionSampling(filter: .topK(9)).filtered([1, 2]), [1, 2])
    }

    /// Probabilities .05, .15, .3, .5 with p = .7: the two smallest hold .2 ≤ 1 - p and go; .3 would make .5 > .3 and stays.
    func testTopPKeepsTheSmallestSetPastP() {
        let logits = [0.05, 0.5, 0.15, 0.3].map { Float(Foundation.log($0)) }
        let kept = CaptionSampling(filter: .topP(0.7)).filtered(logits)
        XCTAssertEqual(kept.map { $0 == -.infinity }, [true, false, true, false])
        XCTAssertEqual(CaptionSampling(filter: .topP(0.01)).filtered(logits).filter { $0 > -.infinity }.count, 1)
    }

    func testSamplingIsDeterministicFromTheSeedAndTopOneIsGreedy() throws {
        let (model, images) = try fixture()
        let sampled = { (seed: UInt64) in model.sampledCaptions(images: images, limits: self.limits, sampling: CaptionSampling(filter: .topK(50), seed: seed)) }
        XCTAssertEqual(sampled(3), sampled(3))
        XCTAssertNotEqual(sampled(3), sampled(4))
        XCTAssertEqual(model.sampledCaptions(images: images, limits: limits, sampling: CaptionSampling(filter: .topK(1), seed: 7)),
                       model.greedyCaptions(images: images, limits: limits))
    }

    /// transformers' rule: positive logits of seen tokens divided, negative ones multiplied; unseen ones unchanged.
    func testRepetitionPenaltyAsTransformers() throws {
        var penalised = limits
        penalised.repetitionPenalty = 2
        var logits: [Float] = [2, -2, 1]
        penalised.penalizingRepetitions(&logits, of: [0, 1, 1])
        XCTAssertEqual(logits, [1, -4, 1])

        // A large penalty keeps greedy captions from repeating a token (the fixture's greedy captions do repeat).
        let (model, images) = try fixture()
        penalised.repetitionPenalty = 1e4
        let content = { (row: [Int32]) in Array(row.dropFirst().prefix { $0 != 999 && $0 != 0 }) }
        XCTAssertTrue(model.greedyCaptions(images: images, limits: limits).map(content).contains { Set($0).count < $0.count })
        for row in model.greedyCaptions(images: images, limits: penalised).map(content) { XCTAssertEqual(Set(row).count, row.count, "\(row)") }
    }

    /// Length penalty 0 scores a beam by its summed logits: for captions that never ended (full length, no end token), the
    /// same tokens as OpenCLIP's length-normalised search and the score times the length.
    func testLengthPenaltyDividesByLengthToThePower() throws {
        XCTAssertEqual(BeamHypotheses.normaliser(length: 4, lengthPenalty: 2), 16)
        // Images 0 and 1: OpenCLIP's search with end token 999 keeps no ended hypothesis for them (the fixture's coverage).
        let (model, three) = try fixture()
        let images = three.slice(axis: 0, 0..<2)
        var summed = limits
        summed.lengthPenalty = 0
        let normalised = model.beamSearchCaptions(images: images, limits: limits, beams: 3)
        let sums = model.beamSearchCaptions(images: images, limits: summed, beams: 3)
        for (mean, sum) in zip(normalised, sums) {
            XCTAssertEqual(sum.tokens, mean.tokens)
            XCTAssertEqual(sum.score, mean.score * Float(mean.tokens.count), accuracy: 1e-4 * abs(sum.score))
        }
    }
}
