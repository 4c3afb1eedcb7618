import Foundation
import NN
import TensorCore
import XCTest

/// The tiled affinity distillation loss the trainer runs over gathered features: its value equals the tape's formula
/// (`DistillationLoss.affinity`) for any tile width, and its gradients (a row's as a local row plus as a gathered column)
/// equal central differences of the Double definition.
final class AffinityDistillationEvaluationTests: XCTestCase {
    typealias Problem = DistillationLossTests.Problem

    func evaluation(_ p: Problem, image: Tensor, text: Tensor, logScale: Float, teacherScale: Float, tileElements: Int) -> AffinityDistillationEvaluation {
        AffinityDistillationEvaluation(localImage: image.slice(axis: 0, p.local), localText: text.slice(axis: 0, p.local), gatheredImage: image,
                                       gatheredText: text, logitScale: logScale, teacher: p.teacher, teacherScale: teacherScale,
                                       tileElements: tileElements)
    }

    func testLossEqualsTheTapeFormulaForEveryTileWidth() {
        let p = Problem(n: 9, d: 4, teacherWidth: 6, world: 3, rank: 2, seed: 21)
        let expected = DistillationLoss.affinity(localImage: p.image.slice(axis: 0, p.local), localText: p.text.slice(axis: 0, p.local),
                                                 gatheredImage: p.image, gatheredText: p.text, logitScale: Tensor(scalar: 1.3),
                                                 teacher: p.teacher, teacherScale: 8).scalar
        for tileElements in [3, 6, 12, 27, 1 << 20] {
            let loss = evaluation(p, image: p.image, text: p.text, logScale: 1.3, teacherScale: 8, tileElements: tileElements).loss
            XCTAssertEqual(loss, expected, accuracy: 1e-5 * abs(expected), "tile elements \(tileElements)")
        }
    }

    func testGradientsMatchFiniteDifferences() {
        let p = Problem(n: 6, d: 4, teacherWidth: 5, world: 2, rank: 1, seed: 22)
        let logScale: Float = 1.5, teacherScale: Float = 9, weight: Float = 0.7
        let g = evaluation(p, image: p.image, text: p.text, logScale: logScale, teacherScale: teacherScale, tileElements: 6).gradients(scaledBy: weight)
        // A student row's gradient is its gathered column's plus, on this rank, its local row's.
        func combined(_ local: Tensor, _ gathered: Tensor) -> [Float] {
            var values = gathered.values
            for (k, i) in p.local.enumerated() { for c in 0..<4 { values[i * 4 + c] += local.values[k * 4 + c] } }
            return values
        }
        for (name, tensor, gradient) in [("image", p.image, combined(g.localImage, g.gatheredImage)), ("text", p.text, combined(g.localText, g.gatheredText))] {
            for i in 0..<tensor.count {
                let numeric = Double(weight) * p.numericGradient(name, i, d: 4, logScale: Double(logScale), teacherScale: Double(teacherScale))
                XCTAssertEqual(Double(gradient[i]), numeric, accuracy: 1e-3 + 1e-3 * abs(numeric), "\(name) \(i)")
            }
        }
        let h = 1e-4
        func reference(_ s: Double) -> Double {
            p.reference(image: p.image.values, text: p.text.values, d: 4, logScale: s, teacherScale: Double(teacherScale))
        }
        let numeric = Double(weight) * (reference(Double(logScale) + h) - reference(Double(logScale) - h)) / (2 * h)
        XCTAssertEqual(Double(g.logitScale), numeric, accuracy: 1e-3 + 1e-3 * abs(numeric), "logit scale")
    }

    /// Where the student's similarities are the teacher's, the loss is the teacher's entropy and nothing moves.
    func testStationaryWhereTheStudentIsTheTeacher() {
        let p = Problem(n: 8, d: 4, teacherWidth: 4, world: 2, rank: 0, seed: 23)
        let g = evaluation(p, image: p.teacherImage, text: p.teacherText, logScale: Foundation.log(9), teacherScale: 9, tileElements: 8).gradients()
        for values in [g.localImage.values, g.localText.values, g.gatheredImage.values, g.gatheredText.values] {
            XCTAssert(values.allSatisfy { abs($0) < 1e-5 })
        }
        XCTAssertEqual(g.logitScale, 0, accuracy: 1e-5)
    }
}
