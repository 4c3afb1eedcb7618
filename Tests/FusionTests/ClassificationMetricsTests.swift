import Fusion
import XCTest

/// Against cases computed by hand.
final class ClassificationMetricsTests: XCTestCase {
    /// 3 classes, 5 samples. Predictions (argmax): 0, 1, 1, 2, 0 for labels 0, 1, 2, 2, 1.
    /// Confusion (true × predicted): [[1,0,0],[1,1,0],[0,1,1]]; accuracy 3/5.
    /// F1: class 0: TP 1, FP 1, FN 0 -> 2/3; class 1: TP 1, FP 1, FN 1 -> 1/2; class 2: TP 1, FP 0, FN 1 -> 2/3; macro 11/18.
    func testThreeClasses() {
        let logits: [Float] = [
            3, 1, 0,
            0, 2, 1,
            0, 5, 4,
            1, 0, 2,
            2, 1, 1,
        ]
        let metrics = ClassificationMetrics(logits: logits, labels: [0, 1, 2, 2, 1], classes: 3)
        XCTAssertEqual(metrics.confusion, [[1, 0, 0], [1, 1, 0], [0, 1, 1]])
        XCTAssertEqual(metrics.accuracy, 0.6, accuracy: 1e-12)
        XCTAssertEqual(metrics.macroF1, 11.0 / 18.0, accuracy: 1e-12)
        XCTAssertEqual(metrics.top5, 1)   // fewer than 5 classes: always in the top 5
        XCTAssertEqual(metrics.named(suffix: "_without_text")["val_macro_f1_without_text"]!, 11.0 / 18.0, accuracy: 1e-12)
    }

    /// 7 classes: the true class ranks 1st, 5th (4 larger logits), 6th (5 larger) and tied with the 5th largest.
    func testTopFive() {
        let rows: [[Float]] = [
            [9, 1, 2, 3, 4, 5, 6],   // label 0: first
            [6, 5, 4, 3, 2, 1, 0],   // label 4: four larger -> in
            [6, 5, 4, 3, 2, 1, 0],   // label 5: five larger -> out
            [6, 5, 4, 3, 2, 2, 0],   // label 5: tied with the fifth -> in
        ]
        let metrics = ClassificationMetrics(logits: rows.flatMap { $0 }, labels: [0, 4, 5, 5], classes: 7)
        XCTAssertEqual(metrics.top5, 0.75, accuracy: 1e-12)
        XCTAssertEqual(metrics.accuracy, 0.25, accuracy: 1e-12)
    }

    /// A class neither true nor predicted scores F1 0 in the macro mean (scikit-learn's default zero_division);
    /// a tie predicts the first of the largest logits.
    func testAbsentClassAndTies() {
        let metrics = ClassificationMetrics(logits: [1, 1, 0, 0, 0, 1], labels: [0, 1], classes: 3)
        XCTAssertEqual(metrics.confusion, [[1, 0, 0], [0, 0, 1], [0, 0, 0]])
        // class 0: 2/(2+0+0) = 1; class 1: 0 (FN 1); class 2: 0 (FP 1) -> 1/3.
        XCTAssertEqual(metrics.macroF1, 1.0 / 3.0, accuracy: 1e-12)
    }
}
