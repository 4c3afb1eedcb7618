import Foundation
import NN
import TensorCore
import XCTest
@testable import Fusion

/// Multi-label metrics and loss against cases computed by hand and scikit-learn 1.9's values.
final class MultiLabelTests: XCTestCase {
    /// Positives at ranks 1, 4 and 5 of 5: the step-wise area is 1/3·1 + 1/3·(2/4) + 1/3·(3/5) = 0.7; the interpolated
    /// (max precision to the right) would give 0.7333.
    func testAveragePrecisionIsTheStepwiseArea() throws {
        let ap = try XCTUnwrap(MultiLabelMetrics.averagePrecision(scores: [5, 4, 3, 2, 1], positives: [true, false, false, true, true]))
        XCTAssertEqual(ap, 0.7, accuracy: 1e-12)
    }

    /// Tied scores are one threshold: 0.9 (positive), then 0.8 twice (one positive): 1/2·1 + 1/2·(2/3) = 5/6.
    func testTiedScoresEnterTogether() throws {
        let ap = try XCTUnwrap(MultiLabelMetrics.averagePrecision(scores: [0.9, 0.8, 0.8, 0.1], positives: [true, false, true, false]))
        XCTAssertEqual(ap, 5.0 / 6.0, accuracy: 1e-12)
        // The order of tied samples does not matter.
        let swapped = try XCTUnwrap(MultiLabelMetrics.averagePrecision(scores: [0.9, 0.8, 0.8, 0.1], positives: [true, true, false, false]))
        XCTAssertEqual(swapped, 5.0 / 6.0, accuracy: 1e-12)
    }

    /// A class without positives has no AP and leaves the macro mean; the micro AP pools every pair.
    func testClassWithoutPositivesLeavesTheMacroMean() {
        // Class 0: positives ranked 1st and 2nd -> AP 1. Class 1: no positive.
        let metrics = MultiLabelMetrics(logits: [3, 0, 2, 1, -1, 5], targets: [1, 0, 1, 0, 0, 0], classes: 2)
        XCTAssertEqual(metrics.averagePrecisions[0]!, 1, accuracy: 1e-12)
        XCTAssertNil(metrics.averagePrecisions[1])
        XCTAssertEqual(metrics.macroAP, 1, accuracy: 1e-12)
        // Pooled order 5(n) 3(p) 2(p) 1(n) 0(n) -1(n): 1/2·(1/2) + 1/2·(2/3) = 7/12.
        XCTAssertEqual(metrics.microAP, 7.0 / 12.0, accuracy: 1e-12)
    }

    /// Lowering the threshold: at logit 2 class 0 is right (macro 1/2), at logit 1 both are (macro 1), at 0 a false
    /// positive enters (class 0: 2/3). Best: threshold sigmoid(1), macro-F1 1.
    func testThresholdIsTunedForMacroF1() {
        let metrics = MultiLabelMetrics(logits: [2, -1, 0, 1], targets: [1, 0, 0, 1], classes: 2)
        XCTAssertEqual(metrics.macroF1, 1, accuracy: 1e-12)
        XCTAssertEqual(metrics.threshold, 1 / (1 + exp(-1.0)), accuracy: 1e-9)
    }

    /// 12 samples × 4 classes with ties; expected values from scikit-learn 1.9.1 (`average_precision_score` per class,
    /// macro and micro; the best `f1_score(average="macro", zero_division=0)` over every distinct probability threshold).
    func testAgainstScikitLearn() {
        let logits: [Float] = [0, 0.5, -0.5, -1, -0.5, -1, 0, 1.5, -0.5, -0.5, 0.5, 0.5, 0, -1, 0, 0.5, -1.5, -0.5, -2, -1.5, -2, 0,
                               -1.5, 0.5, 0, 0, -2.5, -0.5, 0, 0, -1.5, -0.5, -1, -1, 1, -1, 0, 1, -0.5, 0, 0, 0, -1, 0, 1.5, -1.5, 1, 0]
        let targets: [Float] = [0, 1, 0, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0,
                                1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1, 0, 1]
        let metrics = MultiLabelMetrics(logits: logits, targets: targets, classes: 4)
        let expected = [0.31796536796536795, 0.45606060606060606, 0.5868274582560297, 0.2126022126022126]
        for (found, want) in zip(metrics.averagePrecisions, expected) { XCTAssertEqual(found!, want, accuracy: 1e-12) }
        XCTAssertEqual(metrics.macroAP, 0.3933639112210541, accuracy: 1e-12)
        XCTAssertEqual(metrics.microAP, 0.34628046421663444, accuracy: 1e-12)
        XCTAssertEqual(metrics.macroF1, 0.588562091503268, accuracy: 1e-9)
        XCTAssertEqual(metrics.threshold, 0.11920292202211755, accuracy: 1e-7)
        XCTAssertEqual(Set(metrics.named(suffix: "_without_image").keys),
                       ["val_map_without_image", "val_map_micro_without_image", "val_macro_f1_without_image", "val_f1_threshold_without_image"])
    }

    func testMultiHotSkipsPadding() {
        XCTAssertEqual(MultiLabelLoss.multiHot([2, 0, 1, -1, -1, -1], samples: 3, classes: 3), [1, 0, 1, 0, 1, 0, 0, 0, 0])
    }

    /// BCE of logits [[0, 2]] against [[1, 0]] with class weights [1, 3]: (log 2 + 3·log(1 + e²)) / 2; its gradient by
    /// finite differences.
    func testWeightedBinaryCrossEntropyAndItsGradient() {
        let loss = MultiLabelLoss.binaryCrossEntropy(Tensor(shape: [1, 2], values: [0, 2]), targets: [1, 0], classWeights: [1, 3])
        XCTAssertEqual(Double(loss.scalar), (log(2.0) + 3 * log(1 + exp(2.0))) / 2, accuracy: 1e-5)
        let store = ParameterStore()
        _ = store.register("logits", shape: [3, 4], initial: Tensor(shape: [3, 4], values: (0..<12).map { Float($0 % 5) - 2.2 }))
        store.seal()
        let targets: [Float] = [1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 1]
        HeadGradientCheck.check(store, prefixes: ["logits"]) {
            MultiLabelLoss.binaryCrossEntropy(store["logits"]!.tensor, targets: targets, classWeights: [1, 2, 0.5, 3])
        }
    }
}
