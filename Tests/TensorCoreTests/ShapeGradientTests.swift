import XCTest
@testable import TensorCore

/// Finite-difference checks of reductions, normalisations and shape operations (tolerances: GradientCheck.swift).
final class ShapeGradientTests: XCTestCase {
    typealias G = GradientCheck

    func testSumAndMean() {
        let x = G.uniform([2, 3, 4], seed: 21)
        for axis in [0, 1, 2, -1] {
            assertGradients("sum axis \(axis)", [x]) { $0[0].sum(axis: axis) }
            assertGradients("mean axis \(axis)", [x]) { $0[0].mean(axis: axis) }
        }
        assertGradients("sum all", [x]) { $0[0].sum() }
        assertGradients("mean all", [x]) { $0[0].mean() }
    }

    func testSoftmaxFamily() {
        let x = G.uniform([3, 9], -2, 2, seed: 22)
        assertGradients("softmax", [x], tolerance: 1e-3) { $0[0].softmax() }
        assertGradients("logSoftmax", [x], tolerance: 1e-3) { $0[0].logSoftmax() }
    }

    func testLayerNorm() {
        let x = G.uniform([2, 3, 10], -2, 2, seed: 23)
        let w = G.uniform([10], 0.5, 1.5, seed: 24), b = G.uniform([10], seed: 25)
        assertGradients("layerNorm", [x, w, b]) { $0[0].layerNorm(weight: $0[1], bias: $0[2]) }
        assertGradients("layerNorm input only", [x, w, b], differentiate: [0]) { $0[0].layerNorm(weight: $0[1], bias: $0[2]) }
        // Layer norm is shift invariant, so a large common offset (a residual stream far from zero) must
        // give the same gradients; a backward that cancels digits (Σ g·x − mean Σ g) fails this.
        // (Finite differences are too noisy at x ≈ 100 in Float32 to check this directly.)
        let r = G.uniform([2, 3, 10], seed: 26)
        let near = G.analytic([x, w, b], differentiate: [0, 1], r: r) { $0[0].layerNorm(weight: $0[1], bias: $0[2]) }
        let far = G.analytic([x + 100, w, b], differentiate: [0, 1], r: r) { $0[0].layerNorm(weight: $0[1], bias: $0[2]) }
        for input in 0..<2 {
            for (p, q) in zip(near[input]!.values, far[input]!.values) { XCTAssertEqual(p, q, accuracy: 2e-4, "layerNorm offset input \(input)") }
        }
        assertGradients("layerNorm weight only", [x, w, b], differentiate: [1, 2]) { $0[0].layerNorm(weight: $0[1], bias: $0[2]) }
    }

    func testL2NormalizedAndCrossEntropy() {
        let x = G.uniform([4, 6], seed: 26)
        assertGradients("l2Normalized", [x]) { $0[0].l2Normalized() }
        assertGradients("crossEntropy", [x], tolerance: 1e-3) { $0[0].crossEntropy(labels: [0, 5, 2, 5]) }
    }

    func testGatherRowsWithRepeatedIndices() {
        let table = G.uniform([5, 3], seed: 27)
        assertGradients("gatherRows", [table]) { $0[0].gatherRows([4, 1, 4, 0, 4]) }
    }

    func testReshapePermuteTranspose() {
        let x = G.uniform([2, 3, 4], seed: 28)
        assertGradients("reshape", [x]) { $0[0].reshaped([4, -1]) * $0[0].reshaped([4, 6]) }
        assertGradients("permute general", [x]) { $0[0].permuted([2, 0, 1]) }
        assertGradients("permute last two", [x]) { $0[0].permuted([0, 2, 1]) }
        assertGradients("permute keeping last axis", [x]) { $0[0].permuted([1, 0, 2]) }
        let x4 = G.uniform([2, 3, 2, 4], seed: 38)
        assertGradients("permute heads layout", [x4]) { $0[0].permuted([0, 2, 1, 3]) }
        assertGradients("transposed", [x]) { $0[0].transposed() }
        let big = G.uniform([2, 37, 33], seed: 29)  // beyond one 32×32 transpose block
        assertGradients("transposed blocked", [big]) { $0[0].transposed() }
    }

    func testSliceConcatenateExpand() {
        let x = G.uniform([2, 5, 3], seed: 30)
        assertGradients("slice axis 1", [x]) { $0[0].slice(axis: 1, 1..<4) }
        assertGradients("slice last axis", [x]) { $0[0].slice(axis: -1, 2..<3) }
        let a = G.uniform([2, 1, 3], seed: 31), b = G.uniform([2, 4, 3], seed: 32)
        assertGradients("concatenate axis 1", [a, b, x]) { Tensor.concatenate($0, axis: 1) }
        let c = G.uniform([3, 3], seed: 33), d = G.uniform([1, 3], seed: 34)
        assertGradients("concatenate axis 0", [c, d]) { Tensor.concatenate($0, axis: 0) }
        assertGradients("concatenate partly tracked", [c, d], differentiate: [1]) { Tensor.concatenate($0, axis: 0) }
        let row = G.uniform([1, 4], seed: 35)
        assertGradients("expanded row", [row]) { $0[0].expanded(to: [3, 4]) }
        let mid = G.uniform([2, 1, 4], seed: 36)
        assertGradients("expanded middle", [mid]) { $0[0].expanded(to: [2, 3, 4]) }
    }

    func testAvgPool2d() {
        let x = G.uniform([2, 3, 6, 6], seed: 37)
        assertGradients("avgPool2d 2/2", [x]) { $0[0].avgPool2d(kernel: 2, stride: 2) }
        assertGradients("avgPool2d 3/2 overlapping", [x]) { $0[0].avgPool2d(kernel: 3, stride: 2) }
    }
}
