import Fusion
import TensorCore
import XCTest

final class ClassWeightsTests: XCTestCase {
    let labels: [Int32] = [0, 2, 1, 0]
    var logits: Tensor {
        var generator = SplitMix64(seed: 4)
        return Tensor.randomNormal([4, 3], using: &generator)
    }

    func testEqualWeightsGiveThePlainMean() throws {
        let weighted = try XCTUnwrap(ClassWeights.parse("2, 2, 2", classes: 3)).crossEntropy(logits, labels: labels).scalar
        XCTAssertEqual(weighted, logits.crossEntropy(labels: labels).scalar, accuracy: 1e-6)
    }

    /// Weight only on class 0 (3, not 1, so a mean over all samples would differ): the mean over class-0 samples (rows 0 and 3) alone.
    func testAZeroWeightLeavesItsSamplesOut() throws {
        let weighted = try XCTUnwrap(ClassWeights.parse("3,0,0", classes: 3)).crossEntropy(logits, labels: labels).scalar
        let rows = Tensor.concatenate([logits.slice(axis: 0, 0..<1), logits.slice(axis: 0, 3..<4)], axis: 0)
        XCTAssertEqual(weighted, rows.crossEntropy(labels: [0, 0]).scalar, accuracy: 1e-6)
    }

    func testGradientsOfTheWeightedLoss() {
        let task = TinyFusion.task(.late, classWeights: "1,3,0.5")
        let batch = TinyFusion.batch(count: 6)
        HeadGradientCheck.check(task.parameters, prefixes: ["late."]) { task.forward(batch).local! }
    }

    func testBadWeightsNameTheFlag() {
        XCTAssertNil(try ClassWeights.parse("", classes: 3))
        for text in ["1,2", "1,-1,2", "1,x,2"] {
            XCTAssertThrowsError(try ClassWeights.parse(text, classes: 3)) { XCTAssertTrue("\($0)".contains("--class-weights"), "\($0)") }
        }
    }
}
