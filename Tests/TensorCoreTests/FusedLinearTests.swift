import XCTest
@testable import TensorCore

/// `linear(_:prologue:weight:bias:)` recomputes its prologue in backward; its values and gradients must be those
/// of the unfused composition, and pass finite differences (tolerances: GradientCheck.swift).
final class FusedLinearTests: XCTestCase {
    typealias G = GradientCheck

    func testLayerNormPrologueFiniteDifferences() {
        let x = G.uniform([2, 3, 10], -2, 2, seed: 81)
        let lw = G.uniform([10], 0.5, 1.5, seed: 82), lb = G.uniform([10], seed: 83)
        let w = G.uniform([7, 10], seed: 84), b = G.uniform([7], seed: 85)
        assertGradients("layerNorm-linear", [x, lw, lb, w, b]) {
            Tensor.linear($0[0], prologue: .layerNorm(weight: $0[1], bias: $0[2], epsilon: 1e-5), weight: $0[3], bias: $0[4])
        }
        assertGradients("layerNorm-linear, linear only", [x, lw, lb, w, b], differentiate: [3, 4]) {
            Tensor.linear($0[0], prologue: .layerNorm(weight: $0[1], bias: $0[2], epsilon: 1e-5), weight: $0[3], bias: $0[4])
        }
    }

    func testActivationProloguesFiniteDifferences() {
        let x = G.uniform([4, 9], -3, 3, seed: 86)
        let w = G.uniform([5, 9], seed: 87), b = G.uniform([5], seed: 88)
        assertGradients("gelu-linear", [x, w, b], tolerance: 1e-3) { Tensor.linear($0[0], prologue: .gelu, weight: $0[1], bias: $0[2]) }
        assertGradients("quickGELU-linear", [x, w], tolerance: 1e-3) { Tensor.linear($0[0], prologue: .quickGELU, weight: $0[1], bias: nil) }
    }

    func testSameValuesAndGradientsAsTheComposition() {
        assertFusedMatchesComposition(leadingShape: [6], width: 16, outFeatures: 8)
    }

    /// Rows beyond one recomputed chunk (here two and a part) give the same values and gradients as the composition.
    func testSeveralChunksOfRows() {
        let width = 512, rows = 2 * FusedLinearGradient.chunkRows(width: width, rows: .max) + 37
        assertFusedMatchesComposition(leadingShape: [rows], width: width, outFeatures: 8)
    }

    private func assertFusedMatchesComposition(leadingShape: [Int], width: Int, outFeatures: Int, file: StaticString = #filePath, line: UInt = #line) {
        let x = G.uniform(leadingShape + [width], -2, 2, seed: 89)
        let lw = G.uniform([width], 0.5, 1.5, seed: 90), lb = G.uniform([width], seed: 91)
        let w = G.uniform([outFeatures, width], seed: 92), b = G.uniform([outFeatures], seed: 93)
        let seed = G.uniform(leadingShape + [outFeatures], seed: 94)
        let cases: [(String, ([Tensor]) -> Tensor, ([Tensor]) -> Tensor)] = [
            ("layerNorm", { Tensor.linear($0[0], prologue: .layerNorm(weight: $0[1], bias: $0[2], epsilon: 1e-5), weight: $0[3], bias: $0[4]) },
             { Tensor.linear($0[0].layerNorm(weight: $0[1], bias: $0[2]), weight: $0[3], bias: $0[4]) }),
            ("gelu", { Tensor.linear($0[0], prologue: .gelu, weight: $0[3], bias: $0[4]) + ($0[1].sum() + $0[2].sum()) * 0 },
             { Tensor.linear($0[0].gelu(), weight: $0[3], bias: $0[4]) + ($0[1].sum() + $0[2].sum()) * 0 }),
            ("quickGELU", { Tensor.linear($0[0], prologue: .quickGELU, weight: $0[3], bias: $0[4]) + ($0[1].sum() + $0[2].sum()) * 0 },
             { Tensor.linear($0[0] * $0[0].scaled(by: 1.702).sigmoid(), weight: $0[3], bias: $0[4]) + ($0[1].sum() + $0[2].sum()) * 0 }),
        ]
        // Each value is a sum over `width` products: the bound grows with it.
        let valueBound = 1e-6 * max(1, Float(width / 16).squareRoot())
        for (name, fused, plain) in cases {
            let a = G.analytic([x, lw, lb, w, b], differentiate: [0, 1, 2, 3, 4], r: seed, fused)
            let p = G.analytic([x, lw, lb, w, b], differentiate: [0, 1, 2, 3, 4], r: seed, plain)
            for (u, v) in zip(fused([x, lw, lb, w, b]).values, plain([x, lw, lb, w, b]).values) {
                XCTAssertEqual(u, v, accuracy: valueBound * max(1, abs(v)), "\(name) value", file: file, line: line)
            }
            for i in 0..<5 {
                // Weight gradients sum over all rows: the bound grows with their number.
                let scale: Float = i >= 3 ? Float(x.count / width).squareRoot() : 1
                for (u, v) in zip(a[i]!.values, p[i]!.values) {
                    XCTAssertEqual(u, v, accuracy: 1e-5 * scale * max(1, abs(v)), "\(name) input \(i)", file: file, line: line)
                }
            }
        }
    }

    /// A residual added inside the product has the sum's values, passes finite differences, and receives the output
    /// gradient unchanged, with or without bias and prologue.
    func testResidualAddedInsideTheProduct() {
        let x = G.uniform([2, 3, 10], -2, 2, seed: 97), r = G.uniform([2, 3, 7], -1, 1, seed: 98)
        let lw = G.uniform([10], 0.5, 1.5, seed: 99), lb = G.uniform([10], seed: 100)
        let w = G.uniform([7, 10], seed: 101), b = G.uniform([7], seed: 102)
        assertGradients("linear + residual", [x, w, b, r]) { Tensor.linear($0[0], weight: $0[1], bias: $0[2], adding: $0[3]) }
        assertGradients("linear without bias + residual", [x, w, r]) { Tensor.linear($0[0], weight: $0[1], bias: nil, adding: $0[2]) }
        assertGradients("layerNorm-linear + residual", [x, lw, lb, w, b, r]) {
            Tensor.linear($0[0], prologue: .layerNorm(weight: $0[1], bias: $0[2], epsilon: 1e-5), weight: $0[3], bias: $0[4], adding: $0[5])
        }
        assertGradients("gelu-linear + residual", [x, w, r], tolerance: 1e-3) {
            Tensor.linear($0[0], prologue: .gelu, weight: $0[1], bias: nil, adding: $0[2])
        }
        let fused = withoutGradients { Tensor.linear(x, weight: w, bias: b, adding: r) }
        let plain = withoutGradients { Tensor.linear(x, weight: w, bias: b) + r }
        for (u, v) in zip(fused.values, plain.values) { XCTAssertEqual(u, v, accuracy: 1e-6 * max(1, abs(v))) }
        let seed = G.uniform([2, 3, 7], seed: 103)
        let gradients = G.analytic([x, w, b, r], differentiate: [3], r: seed) { Tensor.linear($0[0], weight: $0[1], bias: $0[2], adding: $0[3]) }
        XCTAssertEqual(gradients[3]!.values, seed.values, "the residual's gradient is the output gradient")
    }

    func testKeepsOnlyTheInputNotThePrologueOutput() {
        let x = G.uniform([4, 8], seed: 95).tracked(), w = G.uniform([3, 8], seed: 96).tracked()
        _ = Tensor.linear(x, prologue: .gelu, weight: w, bias: nil)
        guard case .fusedLinear(let context) = Tape.shared.nodes.last!.op else { return XCTFail("not recorded as a fused linear") }
        XCTAssertEqual(context.input.float32.values, x.values)
        Tape.shared.reset()
    }
}

/// `Tensor.mlp`, keeping or recomputing the hidden layer, has the values and gradients of the two fused linear layers.
final class FusedMLPTests: XCTestCase {
    private typealias G = GradientCheck

    func testFiniteDifferences() {
        let x = G.uniform([2, 3, 6], -2, 2, seed: 120), r = G.uniform([2, 3, 6], seed: 121)
        let lw = G.uniform([6], 0.5, 1.5, seed: 122), lb = G.uniform([6], seed: 123)
        let w1 = G.uniform([10, 6], seed: 124), b1 = G.uniform([10], seed: 125)
        let w2 = G.uniform([6, 10], seed: 126), b2 = G.uniform([6], seed: 127)
        for recomputing in [false, true] {
            assertGradients("mlp, recomputing \(recomputing)", [x, lw, lb, w1, b1, w2, b2, r], tolerance: 1e-3) {
                Tensor.mlp($0[0], layerNorm: .layerNorm(weight: $0[1], bias: $0[2], epsilon: 1e-5), fcWeight: $0[3], fcBias: $0[4],
                           activation: .gelu, projectionWeight: $0[5], projectionBias: $0[6], adding: $0[7], recomputingHidden: recomputing)
            }
            assertGradients("mlp without biases, QuickGELU, recomputing \(recomputing)", [x, lw, lb, w1, w2], tolerance: 1e-3) {
                Tensor.mlp($0[0], layerNorm: .layerNorm(weight: $0[1], bias: $0[2], epsilon: 1e-5), fcWeight: $0[3], fcBias: nil,
                           activation: .quickGELU, projectionWeight: $0[4], projectionBias: nil, recomputingHidden: recomputing)
            }
        }
    }

    /// Only some inputs tracked (a frozen input, frozen parameters): backward skips the rest and what it gives is right.
    func testFiniteDifferencesForSomeInputs() {
        let x = G.uniform([2, 3, 6], -2, 2, seed: 140)
        let lw = G.uniform([6], 0.5, 1.5, seed: 141), lb = G.uniform([6], seed: 142)
        let w1 = G.uniform([10, 6], seed: 143), b1 = G.uniform([10], seed: 144)
        let w2 = G.uniform([6, 10], seed: 145), b2 = G.uniform([6], seed: 146)
        for (recomputing, subset) in [(false, [3, 4]), (true, [5, 6]), (false, [1, 2]), (true, [0])] {
            assertGradients("mlp, recomputing \(recomputing), inputs \(subset)", [x, lw, lb, w1, b1, w2, b2], differentiate: subset, tolerance: 1e-3) {
                Tensor.mlp($0[0], layerNorm: .layerNorm(weight: $0[1], bias: $0[2], epsilon: 1e-5), fcWeight: $0[3], fcBias: $0[4],
                           activation: .gelu, projectionWeight: $0[5], projectionBias: $0[6], recomputingHidden: recomputing)
            }
        }
    }

    func testMatchesTheTwoLinearLayers() {
        assertMatchesTheTwoLinearLayers(rows: 5, width: 8, hidden: 32)
    }

    /// Two chunks of rows and a part.
    func testMatchesTheTwoLinearLayersOverSeveralChunks() {
        let hidden = 1024
        assertMatchesTheTwoLinearLayers(rows: 2 * FusedLinearGradient.chunkRows(width: hidden, rows: .max) + 29, width: 64, hidden: hidden)
    }

    private func assertMatchesTheTwoLinearLayers(rows: Int, width: Int, hidden: Int, file: StaticString = #filePath, line: UInt = #line) {
        let x = G.uniform([rows, width], -2, 2, seed: 130), r = G.uniform([rows, width], seed: 131)
        let lw = G.uniform([width], 0.5, 1.5, seed: 132), lb = G.uniform([width], seed: 133)
        let w1 = G.uniform([hidden, width], seed: 134), b1 = G.uniform([hidden], seed: 135)
        let w2 = G.uniform([width, hidden], seed: 136), b2 = G.uniform([width], seed: 137)
        let seed = G.uniform([rows, width], seed: 138)
        let inputs = [x, lw, lb, w1, b1, w2, b2, r]
        for (activation, recomputing) in [(LinearPrologue.gelu, false), (.gelu, true), (.quickGELU, false), (.quickGELU, true)] {
            let fused: ([Tensor]) -> Tensor = {
                Tensor.mlp($0[0], layerNorm: .layerNorm(weight: $0[1], bias: $0[2], epsilon: 1e-5), fcWeight: $0[3], fcBias: $0[4],
                           activation: activation, projectionWeight: $0[5], projectionBias: $0[6], adding: $0[7], recomputingHidden: recomputing)
            }
            let plain: ([Tensor]) -> Tensor = {
                let h = Tensor.linear($0[0], prologue: .layerNorm(weight: $0[1], bias: $0[2], epsilon: 1e-5), weight: $0[3], bias: $0[4])
                return Tensor.linear(h, prologue: activation, weight: $0[5], bias: $0[6], adding: $0[7])
            }
            XCTAssertEqual(withoutGradients { fused(inputs) }.values, withoutGradients { plain(inputs) }.values, "values", file: file, line: line)
            let a = G.analytic(inputs, differentiate: Array(0..<8), r: seed, fused)
            let p = G.analytic(inputs, differentiate: Array(0..<8), r: seed, plain)
            for i in 0..<8 {
                // Parameter gradients sum over rows, chunk by chunk in one and in one product in the other.
                let bound: Float = i == 0 || i == 7 ? 1e-6 : 1e-5 * Float(rows).squareRoot()
                for (u, v) in zip(a[i]!.values, p[i]!.values) {
                    XCTAssertEqual(u, v, accuracy: bound * max(1, abs(v)), "input \(i)", file: file, line: line)
                }
            }
        }
    }
}
