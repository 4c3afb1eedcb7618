import XCTest
@testable import TensorCore

/// Finite-difference checks of the element-wise operations (tolerances: see GradientCheck.swift).
final class ElementwiseGradientTests: XCTestCase {
    typealias G = GradientCheck

    /// Pairs of shapes covering every broadcasting path: same, scalar, bias row, general, rank mismatch.
    let broadcastCases: [(String, [Int], [Int])] = [
        ("same", [3, 4], [3, 4]),
        ("scalar rhs", [3, 4], []),
        ("scalar lhs", [1], [3, 4]),
        ("bias row", [3, 4], [4]),
        ("bias row lhs", [4], [3, 4]),
        ("general", [2, 1, 4], [1, 3, 4]),
        ("column", [3, 1], [3, 4]),
        ("column rhs", [2, 3, 4], [2, 3, 1]),
        ("singleton last axis", [2, 1, 1], [1, 3, 1]),
        ("rank mismatch general", [3, 1], [2, 1, 4]),
    ]

    func testAddSubtractMultiplyWithBroadcasting() {
        for (i, (label, sa, sb)) in broadcastCases.enumerated() {
            let a = G.uniform(sa, seed: UInt64(10 + i)), b = G.uniform(sb, seed: UInt64(20 + i))
            assertGradients("add \(label)", [a, b]) { $0[0] + $0[1] }
            assertGradients("subtract \(label)", [a, b]) { $0[0] - $0[1] }
            assertGradients("multiply \(label)", [a, b]) { $0[0] * $0[1] }
        }
    }

    func testDivideWithBroadcasting() {
        for (i, (label, sa, sb)) in broadcastCases.enumerated() {
            let a = G.uniform(sa, seed: UInt64(30 + i)), b = G.uniform(sb, 0.5, 1.5, seed: UInt64(40 + i))
            assertGradients("divide \(label)", [a, b]) { $0[0] / $0[1] }
        }
    }

    func testOnlyOneSideTracked() {
        let a = G.uniform([3, 4], seed: 1), b = G.uniform([4], 0.5, 1.5, seed: 2)
        assertGradients("multiply rhs untracked", [a, b], differentiate: [0]) { $0[0] * $0[1] }
        assertGradients("divide lhs untracked", [a, b], differentiate: [1]) { $0[0] / $0[1] }
    }

    func testScaleAddScalarNegate() {
        let x = G.uniform([2, 5], seed: 3)
        assertGradients("scale", [x]) { $0[0].scaled(by: -2.5) }
        assertGradients("float * tensor", [x]) { 0.3 * $0[0] }
        assertGradients("addScalar", [x]) { $0[0] + 1.75 }
        assertGradients("subtract scalar", [x]) { $0[0] - 0.5 }
        assertGradients("negate", [x]) { -$0[0] }
    }

    func testTranscendentals() {
        let x = G.uniform([3, 7], -2, 2, seed: 4)
        let positive = G.uniform([3, 7], 0.5, 2, seed: 5)
        assertGradients("exp", [x], tolerance: 1e-3) { $0[0].exp() }
        assertGradients("log", [positive]) { $0[0].log() }
        assertGradients("sqrt", [positive]) { $0[0].sqrt() }
        assertGradients("tanh", [x], tolerance: 1e-3) { $0[0].tanh() }
        assertGradients("sigmoid", [x], tolerance: 1e-3) { $0[0].sigmoid() }
        let wide = G.uniform([3, 7], -12, 12, seed: 6)
        assertGradients("logSigmoid", [wide], tolerance: 1e-3) { $0[0].logSigmoid() }
    }

    func testReluAwayFromZero() {
        let x = G.awayFromZero([4, 6], gap: 0.1, seed: 7)
        assertGradients("relu", [x]) { $0[0].relu() }
    }

    func testGelu() {
        // Covers the tails where erf saturates and the 8-lane tail handling (21 elements).
        let x = G.uniform([3, 7], -4, 4, seed: 8)
        assertGradients("gelu", [x], tolerance: 1e-3) { $0[0].gelu() }
    }

    func testCustomOp() {
        // y = x³ with its own backward closure.
        let x = G.uniform([2, 3], seed: 9)
        assertGradients("custom cube", [x]) { inputs in Self.cube(inputs[0], derivativeFactor: 3) }
    }

    /// x³ as a `.custom` op; `derivativeFactor` other than 3 gives a deliberately wrong backward rule.
    static func cube(_ x: Tensor, derivativeFactor: Float) -> Tensor {
        let y = Tensor(shape: x.shape, values: x.values.map { $0 * $0 * $0 })
        let saved = x
        return Tensor.customOperation(name: "cube", inputs: [x], output: y) { g in
            [Tensor(shape: saved.shape, values: zip(g.values, saved.values).map { $0 * derivativeFactor * $1 * $1 })]
        }
    }
}

/// Shows that the harness can fail: wrong backward rules and perturbed gradients are caught.
final class GradientHarnessTests: XCTestCase {
    func testHarnessRejectsWrongBackwardRule() {
        let x = GradientCheck.uniform([2, 3], seed: 9)
        let right = GradientCheck.compare([x]) { ElementwiseGradientTests.cube($0[0], derivativeFactor: 3) }
        XCTAssertLessThan(right[0].relativeError, 5e-4)
        // A backward rule 1 % off must fail the default tolerance.
        let wrong = GradientCheck.compare([x]) { ElementwiseGradientTests.cube($0[0], derivativeFactor: 3.03) }
        XCTAssertGreaterThan(wrong[0].relativeError, 5e-4)
    }

    func testHarnessRejectsOnePerturbedComponent() {
        let a = GradientCheck.uniform([3, 4], seed: 11), b = GradientCheck.uniform([4], seed: 12)
        let clean = GradientCheck.compare([a, b]) { $0[0] * $0[1] }
        XCTAssertTrue(clean.allSatisfy { $0.relativeError <= 5e-4 })
        let scale = Float(clean[0].scale)
        let perturbed = GradientCheck.compare([a, b], perturbAnalytic: { if $0.count == 12 { $0[5] += 0.01 * scale } }) { $0[0] * $0[1] }
        XCTAssertGreaterThan(perturbed[0].relativeError, 5e-4)
    }

    func testSeedEqualsExplicitWeightedSumLoss() {
        // The harness seeds backward with R; building Σ y ⊙ R with ops must give the same gradient.
        let x = GradientCheck.uniform([3, 5], seed: 13), r = GradientCheck.uniform([3, 5], seed: 14)
        Tape.shared.reset()
        let tx = x.tracked()
        let viaSeed = Tape.shared.backward(from: tx.gelu(), seed: r)[tx]!.values
        let tx2 = x.tracked()
        let viaLoss = ((tx2.gelu() * r).sum()).backward()[tx2]!.values
        for (p, q) in zip(viaSeed, viaLoss) { XCTAssertEqual(p, q, accuracy: 1e-6) }
    }
}
