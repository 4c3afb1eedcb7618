@testable import CLIP
import Foundation
@testable import NN
import TensorCore
import XCTest

/// Mined hard negatives as extra columns of the contrastive loss: captions (NegCLIP) of the image→text direction,
/// images of the text→image direction.
final class MinedNegativeLossTests: XCTestCase {
    /// The problem's loss with `m` extra unit text columns after the gathered texts and `mi` extra unit image columns
    /// after the gathered images, written out in float64: the image→text rows' softmax runs over texts and their extras,
    /// the text→image rows' over images and theirs (HN-NCE weights over all of them).
    struct Problem {
        let base: ContrastiveProblem
        let extra: Tensor, extraImage: Tensor
        var m: Int { extra.shape[0] }

        init(_ base: ContrastiveProblem, extraColumns m: Int, extraImageColumns mi: Int = 0, seed: UInt64) {
            self.base = base
            var g = SplitMix64(seed: seed)
            extra = Tensor.randomNormal([m, base.d], using: &g).l2Normalized()
            extraImage = Tensor.randomNormal([mi, base.d], using: &g).l2Normalized()
        }

        func evaluate(_ w: HardNegativeWeighting, tileColumns: Int) -> ClipLossEvaluation {
            let rows = base.localRows
            return ClipLossEvaluation(localImage: base.image.slice(axis: 0, rows), localText: base.text.slice(axis: 0, rows),
                                      gatheredImage: base.image, gatheredText: base.text, logitScale: base.logScale, rank: base.rank,
                                      tileElements: tileColumns * base.b, hardNegatives: w, extraTextColumns: extra,
                                      extraImageColumns: extraImage)
        }

        var inputs: [Double] {
            Array(base.inputs.dropLast()) + extra.values.map(Double.init) + extraImage.values.map(Double.init) + [Double(base.logScale)]
        }

        static func flatGradients(_ g: ClipLossEvaluation.Gradients) -> [Double] {
            Array(ContrastiveProblem.flatGradients(g).dropLast()) + (g.extraText?.values ?? []).map(Double.init)
                + (g.extraImage?.values ?? []).map(Double.init) + [Double(g.logitScale)]
        }

        func reference(_ x: [Double], _ w: HardNegativeWeighting) -> Double {
            let b = base.b, d = base.d, n = base.n, local = b * d, gathered = n * d
            let localImage = Array(x[0..<local]), localText = Array(x[local..<(2 * local)])
            let extraTexts = 2 * local + 2 * gathered, extraImages = extraTexts + m * d
            let gatheredImage = Array(x[(2 * local)..<(2 * local + gathered)]) + Array(x[extraImages..<(x.count - 1)])
            let texts = Array(x[(2 * local + gathered)..<(2 * local + 2 * gathered)]) + Array(x[extraTexts..<extraImages])
            let s = Foundation.exp(x[x.count - 1])
            func direction(_ rows: [Double], _ columns: [Double]) -> Double {
                let count = columns.count / d
                var total = 0.0
                for i in 0..<b {
                    let p = base.rank * b + i
                    let z = (0..<count).map { j in s * (0..<d).reduce(0.0) { $0 + rows[i * d + $1] * columns[j * d + $1] } }
                    let negatives = (0..<count).filter { $0 != p }
                    let normaliser = negatives.reduce(0.0) { $0 + Foundation.exp(w.beta * z[$1]) }
                    let mass = negatives.reduce(0.0) { $0 + Double(count - 1) * Foundation.exp(w.beta * z[$1]) / normaliser * Foundation.exp(z[$1]) }
                    total += Foundation.log(w.alpha * Foundation.exp(z[p]) + mass) - z[p]
                }
                return total / Double(b)
            }
            return (direction(localImage, texts) + direction(localText, gatheredImage)) / 2
        }
    }

    static let weightings = [HardNegativeWeighting(), HardNegativeWeighting(alpha: 0.8, beta: 0.5)]

    /// Rank 1 of 3, 5 extra text columns, and 0 or 3 extra image columns (or images alone), tiles of 4 columns (so a
    /// tile straddles the gathered columns and the extras): the loss is the float64 formula, and every gradient (the
    /// extras' too) its central difference.
    func testExtraColumnsMatchTheFormulaAndCentralDifferences() {
        for (texts, images) in [(5, 0), (5, 3), (0, 4)] {
            checkExtraColumns(texts: texts, images: images)
        }
    }

    func checkExtraColumns(texts: Int, images: Int) {
        let problem = Problem(ContrastiveProblem(n: 12, d: 8, world: 3, rank: 1, logScale: Float(Foundation.log(5.0)), seed: 31),
                              extraColumns: texts, extraImageColumns: images, seed: 32)
        for w in Self.weightings {
            let evaluation = problem.evaluate(w, tileColumns: 4)
            var x = problem.inputs
            let reference = problem.reference(x, w)
            XCTAssertEqual(Double(evaluation.loss), reference, accuracy: 1e-5 * reference, "\(w)")
            let analytic = Problem.flatGradients(evaluation.gradients())
            XCTAssertEqual(analytic.count, x.count)
            XCTAssertEqual(evaluation.gradients().extraText?.shape, texts > 0 ? [texts, 8] : nil)
            XCTAssertEqual(evaluation.gradients().extraImage?.shape, images > 0 ? [images, 8] : nil)
            let h = 1e-5
            var worst = 0.0, largest = 0.0
            for k in x.indices {
                let saved = x[k]
                x[k] = saved + h
                let up = problem.reference(x, w)
                x[k] = saved - h
                let down = problem.reference(x, w)
                x[k] = saved
                let numeric = (up - down) / (2 * h)
                largest = max(largest, abs(numeric))
                worst = max(worst, abs(numeric - analytic[k]))
            }
            XCTAssertLessThan(worst, 1e-4 * largest, "\(w), \(texts) text and \(images) image columns")
        }
    }

    /// Extra columns make the loss larger (more negatives in every image's or caption's denominator).
    func testExtraColumnsRaiseTheLoss() {
        let base = ContrastiveProblem(n: 32, d: 16, world: 2, rank: 0, logScale: 2.659_26, seed: 33)
        let plain = base.evaluate(HardNegativeWeighting())
        let extra = Problem(base, extraColumns: 8, seed: 34).evaluate(HardNegativeWeighting(), tileColumns: 64)
        XCTAssertGreaterThan(extra.loss, plain.loss)
        let extraImages = Problem(base, extraColumns: 0, extraImageColumns: 8, seed: 34).evaluate(HardNegativeWeighting(), tileColumns: 64)
        XCTAssertGreaterThan(extraImages.loss, plain.loss)
    }

    /// No extra columns (nil or none) is the plain loss: the same bits for the loss and every gradient.
    func testNoExtraColumnsIsThePlainLossBitForBit() {
        let base = ContrastiveProblem(n: 96, d: 16, world: 3, rank: 2, logScale: 2.659_26, seed: 35)
        let rows = base.localRows
        for w in Self.weightings {
            let evaluations = [nil, Tensor.zeros([0, base.d])].map { extra in
                ClipLossEvaluation(localImage: base.image.slice(axis: 0, rows), localText: base.text.slice(axis: 0, rows),
                                   gatheredImage: base.image, gatheredText: base.text, logitScale: base.logScale, rank: base.rank,
                                   tileElements: 7 * base.b, hardNegatives: w, extraTextColumns: extra, extraImageColumns: extra)
            }
            let plain = base.evaluate(w, tileColumns: 7)
            for evaluation in evaluations {
                XCTAssertEqual(evaluation.loss.bitPattern, plain.loss.bitPattern)
                let g = evaluation.gradients(scaledBy: 0.5)
                XCTAssertNil(g.extraText)
                XCTAssertNil(g.extraImage)
                XCTAssertEqual(ContrastiveProblem.flatGradients(g).map(\.bitPattern),
                               ContrastiveProblem.flatGradients(plain.gradients(scaledBy: 0.5)).map(\.bitPattern))
            }
        }
    }
}
