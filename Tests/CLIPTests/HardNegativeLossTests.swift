@testable import CLIP
import Foundation
@testable import NN
import TensorCore
import XCTest

/// One rank's view of a global batch for the contrastive loss, and the HN-NCE loss written out as its formula in
/// float64 (explicit weights, no tiles, no online reductions) to check the tiled implementation against.
struct ContrastiveProblem {
    let image: Tensor, text: Tensor
    let world: Int, rank: Int
    let logScale: Float
    var n: Int { image.shape[0] }
    var d: Int { image.shape[1] }
    var b: Int { n / world }
    var localRows: Range<Int> { (rank * b)..<((rank + 1) * b) }

    /// Unit features; with `pairedEvery` k, every k-th text is its image plus a little noise, so that its positive
    /// logit stands out (which is where the debiased estimate meets its floor).
    init(n: Int, d: Int, world: Int, rank: Int, logScale: Float, seed: UInt64, pairedEvery: Int = 0) {
        var g = SplitMix64(seed: seed)
        let image = Tensor.randomNormal([n, d], using: &g)
        var text = Tensor.randomNormal([n, d], using: &g).values
        if pairedEvery > 0 {
            let imageValues = image.values
            for i in stride(from: 0, to: n, by: pairedEvery) {
                for k in 0..<d { text[i * d + k] = imageValues[i * d + k] + 0.2 * text[i * d + k] }
            }
        }
        self.image = image.l2Normalized()
        self.text = Tensor(shape: [n, d], values: text).l2Normalized()
        self.world = world
        self.rank = rank
        self.logScale = logScale
    }

    func evaluate(_ weighting: HardNegativeWeighting, tileColumns: Int? = nil) -> ClipLossEvaluation {
        ClipLossEvaluation(localImage: image.slice(axis: 0, localRows), localText: text.slice(axis: 0, localRows),
                           gatheredImage: image, gatheredText: text, logitScale: logScale, rank: rank,
                           tileElements: tileColumns.map { $0 * b } ?? ContrastiveLoss.defaultTileElements, hardNegatives: weighting)
    }

    /// Every input of the loss: local image, local text, gathered image, gathered text (row-major), log-scale.
    var inputs: [Double] {
        let local = localRows.lowerBound * d..<localRows.upperBound * d
        return (Array(image.values[local]) + Array(text.values[local]) + image.values + text.values).map(Double.init) + [Double(logScale)]
    }

    /// The gradients of an evaluation in the order of `inputs`.
    static func flatGradients(_ g: ClipLossEvaluation.Gradients) -> [Double] {
        [g.localImage, g.localText, g.gatheredImage, g.gatheredText].flatMap(\.values).map(Double.init) + [Double(g.logitScale)]
    }

    /// The loss of this rank's rows at `x` (laid out as `inputs`), and how many rows the debiased floor decides.
    func reference(_ x: [Double], _ w: HardNegativeWeighting) -> (loss: Double, flooredRows: Int) {
        let local = b * d, gathered = n * d
        let localImage = Array(x[0..<local]), localText = Array(x[local..<(2 * local)])
        let gatheredImage = Array(x[(2 * local)..<(2 * local + gathered)])
        let gatheredText = Array(x[(2 * local + gathered)..<(2 * local + 2 * gathered)])
        let s = Foundation.exp(x[x.count - 1]), negativeCount = Double(n - 1)
        var floored = 0
        func direction(_ rows: [Double], _ columns: [Double]) -> Double {
            var total = 0.0
            for i in 0..<b {
                let p = rank * b + i
                let z = (0..<n).map { j in s * (0..<d).reduce(0.0) { $0 + rows[i * d + $1] * columns[j * d + $1] } }
                let negatives = (0..<n).filter { $0 != p }
                let normaliser = negatives.reduce(0.0) { $0 + Foundation.exp(w.beta * z[$1]) }
                let weights = negatives.map { negativeCount * Foundation.exp(w.beta * z[$0]) / normaliser }
                let weighted = zip(negatives, weights).reduce(0.0) { $0 + $1.1 * Foundation.exp(z[$1.0]) }
                var negativeMass = weighted
                if w.debiasedTauPlus > 0 {
                    let estimate = (weighted - w.debiasedTauPlus * negativeCount * Foundation.exp(z[p])) / (1 - w.debiasedTauPlus)
                    let floor = negativeCount * Foundation.exp(-s)
                    if estimate < floor { floored += 1 }
                    negativeMass = max(estimate, floor)
                }
                total += Foundation.log(w.alpha * Foundation.exp(z[p]) + negativeMass) - z[p]
            }
            return total / Double(b)
        }
        let loss = (direction(localImage, gatheredText) + direction(localText, gatheredImage)) / 2
        return (loss, floored)
    }
}

final class HardNegativeLossTests: XCTestCase {
    static let weightings = [HardNegativeWeighting(alpha: 1, beta: 0.5), HardNegativeWeighting(alpha: 0.5, beta: -0.3),
                             HardNegativeWeighting(alpha: 0, beta: 1), HardNegativeWeighting(alpha: 1, beta: 0),
                             HardNegativeWeighting(alpha: 1, beta: 0.2, debiasedTauPlus: 0.1)]

    /// Rank 1 of 3 (local batch 32), tiles of 7 columns and one tile, against the float64 formula.
    func testTiledLossMatchesTheFloat64Formula() {
        let problem = ContrastiveProblem(n: 96, d: 16, world: 3, rank: 1, logScale: Float(Foundation.log(1 / 0.07)), seed: 5, pairedEvery: 3)
        for w in Self.weightings {
            let reference = problem.reference(problem.inputs, w).loss
            let tiled = problem.evaluate(w, tileColumns: 7).loss, whole = problem.evaluate(w).loss
            XCTAssertEqual(Double(tiled), reference, accuracy: 1e-5 * abs(reference), "\(w)")
            XCTAssertEqual(Double(whole), reference, accuracy: 1e-5 * abs(reference), "\(w)")
        }
    }

    func assertGradientsMatchCentralDifferences(_ problem: ContrastiveProblem, _ w: HardNegativeWeighting, tileColumns: Int,
                                                file: StaticString = #filePath, line: UInt = #line) {
        let evaluation = problem.evaluate(w, tileColumns: tileColumns)
        let analytic = ContrastiveProblem.flatGradients(evaluation.gradients())
        var x = problem.inputs
        XCTAssertEqual(analytic.count, x.count, file: file, line: line)
        let h = 1e-5
        var worst = 0.0, largest = 0.0, worstIndex = 0
        for k in x.indices {
            let saved = x[k]
            x[k] = saved + h
            let up = problem.reference(x, w).loss
            x[k] = saved - h
            let down = problem.reference(x, w).loss
            x[k] = saved
            let numeric = (up - down) / (2 * h)
            largest = max(largest, abs(numeric))
            if abs(numeric - analytic[k]) > worst { worst = abs(numeric - analytic[k]); worstIndex = k }
        }
        XCTAssertLessThan(worst, 1e-4 * largest, "\(w): input \(worstIndex) of \(x.count), largest gradient \(largest)", file: file, line: line)
    }

    /// Every input's gradient (local and gathered features of both towers, log-scale) by central differences of the
    /// float64 formula; rank 1 of 3 with tiles of 5 columns, so that tiles straddle the positives.
    func testGradientsMatchCentralDifferences() {
        let problem = ContrastiveProblem(n: 12, d: 8, world: 3, rank: 1, logScale: Float(Foundation.log(5.0)), seed: 9)
        for w in [HardNegativeWeighting(alpha: 0.7, beta: 0.5), HardNegativeWeighting(alpha: 1.3, beta: -0.4)] {
            assertGradientsMatchCentralDifferences(problem, w, tileColumns: 5)
        }
    }

    /// Robinson's debiased negatives, on a batch where the floor decides some rows and not others.
    func testDebiasedGradientsMatchCentralDifferencesOnBothSidesOfTheFloor() {
        let problem = ContrastiveProblem(n: 12, d: 8, world: 3, rank: 1, logScale: Float(Foundation.log(5.0)), seed: 9, pairedEvery: 2)
        let w = HardNegativeWeighting(alpha: 1, beta: 0.3, debiasedTauPlus: 0.2)
        let floored = problem.reference(problem.inputs, w).flooredRows
        XCTAssertGreaterThan(floored, 0)
        XCTAssertLessThan(floored, 2 * problem.b)
        assertGradientsMatchCentralDifferences(problem, w, tileColumns: 5)
    }

    /// α = 1, β = 0 is CLIP's loss: the same bits for the loss and every gradient as an evaluation without a weighting.
    func testBetaZeroIsThePlainLossBitForBit() {
        let problem = ContrastiveProblem(n: 96, d: 16, world: 3, rank: 2, logScale: 2.659_26, seed: 13)
        let rows = problem.localRows
        let plain = ClipLossEvaluation(localImage: problem.image.slice(axis: 0, rows), localText: problem.text.slice(axis: 0, rows),
                                       gatheredImage: problem.image, gatheredText: problem.text, logitScale: problem.logScale,
                                       rank: problem.rank, tileElements: 7 * problem.b)
        let weighted = problem.evaluate(HardNegativeWeighting(alpha: 1, beta: 0), tileColumns: 7)
        XCTAssertEqual(weighted.loss.bitPattern, plain.loss.bitPattern)
        let a = ContrastiveProblem.flatGradients(plain.gradients(scaledBy: 0.5))
        let b = ContrastiveProblem.flatGradients(weighted.gradients(scaledBy: 0.5))
        XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern))
    }

    /// The HN-NCE code itself, at β = 0 and α = 1, reduces to the cross-entropy (to float rounding: its sums differ).
    func testTheHardNegativePathAtBetaZeroIsTheCrossEntropy() {
        let problem = ContrastiveProblem(n: 48, d: 16, world: 2, rank: 1, logScale: 2.659_26, seed: 17)
        let rows = TiledLogits(rows: problem.image.slice(axis: 0, problem.localRows), columns: problem.text,
                               scale: Foundation.exp(problem.logScale), labelOffset: problem.rank * problem.b, tile: 5)
        let hard = HardNegativeRows(logits: rows, weighting: HardNegativeWeighting())
        let crossEntropy = rows.crossEntropy()
        XCTAssertEqual(hard.meanLoss, crossEntropy, accuracy: 1e-6 * crossEntropy)
        let dRows = [Tensor.zeros(rows.rows.shape), Tensor.zeros(rows.rows.shape)]
        let dColumns = [Tensor.zeros(rows.columns.shape), Tensor.zeros(rows.columns.shape)]
        let dScale = [hard.backward(weight: 1, dRows: dRows[0], dColumns: dColumns[0]),
                      rows.crossEntropyBackward(weight: 1, dRows: dRows[1], dColumns: dColumns[1])]
        XCTAssertEqual(dScale[0], dScale[1], accuracy: 1e-5 * abs(dScale[1]))
        for (x, y) in [(dRows[0], dRows[1]), (dColumns[0], dColumns[1])] {
            let largest = y.values.map { abs($0) }.max()!
            XCTAssertLessThan(zip(x.values, y.values).map { abs($0 - $1) }.max()!, 1e-5 * largest)
        }
    }

    /// Two ranks' local rows against the gathered columns, averaged, are the single-rank loss over the same global batch;
    /// each rank's feature gradients (its local rows plus every rank's gathered-column gradients of its rows, as the
    /// reduce-scatter sends them) over the world size are the single-rank gradients, and so is the mean log-scale gradient.
    func testTwoRanksAverageToTheSingleRankLossAndGradients() {
        let n = 64, world = 2
        let w = HardNegativeWeighting(alpha: 0.9, beta: 0.5, debiasedTauPlus: 0.05)
        let whole = ContrastiveProblem(n: n, d: 16, world: 1, rank: 0, logScale: 2.659_26, seed: 21)
        let single = whole.evaluate(w)
        let g = single.gradients()
        let singleImage = (g.localImage + g.gatheredImage).values, singleText = (g.localText + g.gatheredText).values
        let ranks = (0..<world).map { ContrastiveProblem(n: n, d: 16, world: world, rank: $0, logScale: 2.659_26, seed: 21) }
        let evaluations = ranks.map { $0.evaluate(w, tileColumns: 10) }
        let meanLoss = evaluations.reduce(0.0) { $0 + Double($1.loss) } / Double(world)
        XCTAssertEqual(meanLoss, Double(single.loss), accuracy: 1e-6 * Double(single.loss))
        let gradients = evaluations.map { $0.gradients() }
        let meanScale = gradients.reduce(0.0) { $0 + Double($1.logitScale) } / Double(world)
        XCTAssertEqual(meanScale, Double(g.logitScale), accuracy: 1e-5 * abs(Double(g.logitScale)))
        let d = whole.d
        for (r, problem) in ranks.enumerated() {
            let own = problem.localRows
            for (name, local, gathered, expected) in [("image", gradients[r].localImage, \ClipLossEvaluation.Gradients.gatheredImage, singleImage),
                                                       ("text", gradients[r].localText, \ClipLossEvaluation.Gradients.gatheredText, singleText)] {
                var rankGradient = local.values
                for other in gradients {
                    let columns = other[keyPath: gathered].values
                    for k in rankGradient.indices { rankGradient[k] += columns[own.lowerBound * d + k] }
                }
                let reference = Array(expected[(own.lowerBound * d)..<(own.upperBound * d)])
                let largest = reference.map { abs($0) }.max()!
                let worst = zip(rankGradient, reference).map { abs($0 / Float(world) - $1) }.max()!
                XCTAssertLessThan(worst, 1e-5 * largest, "rank \(r) \(name)")
            }
        }
    }
}
