import Foundation
import XCTest
@testable import TensorCore

/// Forward values against straightforward Double reference implementations.
final class ForwardValueTests: XCTestCase {
    typealias G = GradientCheck

    func assertClose(_ actual: Tensor, _ expected: [Double], absolute: Double, relative: Double = 0,
                     _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, name, file: file, line: line)
        var worst = 0.0, worstIndex = 0
        for (i, (a, e)) in zip(actual.values, expected).enumerated() {
            let excess = abs(Double(a) - e) - (absolute + relative * abs(e))
            if excess > worst { worst = excess; worstIndex = i }
        }
        XCTAssert(worst == 0, "\(name): element \(worstIndex) is \(actual.values[worstIndex]), expected \(expected[worstIndex])",
                  file: file, line: line)
    }

    func testExpTanhSigmoidAgainstLibm() {
        let x = G.uniform([1001], -80, 80, seed: 61)
        assertClose(x.exp(), x.values.map { Foundation.exp(Double($0)) }, absolute: 0, relative: 1e-6, "exp")
        let small = G.uniform([333], -9, 9, seed: 62)
        assertClose(small.tanh(), small.values.map { Foundation.tanh(Double($0)) }, absolute: 2e-7, "tanh")
        assertClose(small.sigmoid(), small.values.map { 1 / (1 + Foundation.exp(-Double($0))) }, absolute: 2e-7, "sigmoid")
        assertClose(small.logSigmoid(), small.values.map { -Foundation.log1p(Foundation.exp(-Double($0))) },
                    absolute: 1e-6, relative: 1e-6, "logSigmoid")
        XCTAssertEqual(Tensor(shape: [2], values: [-.infinity, -1000]).exp().values, [0, 0], "exp underflows to exactly 0")
        let edges = Tensor(shape: [4], values: [.infinity, 1000, 88.8, 88.7]).exp().values
        XCTAssertEqual(Array(edges[0..<3]), [.infinity, .infinity, .infinity], "exp overflows to +inf")
        let top = Foundation.exp(Double(Float(88.7)))
        XCTAssertEqual(Double(edges[3]), top, accuracy: 1e-6 * top, "exp just below overflow")
        XCTAssertTrue(fastExp(Float.nan).isNaN, "NaN stays NaN")
    }

    func testGeluMatchesExactErf() {
        let x = G.uniform([4099], -7, 7, seed: 63)
        let expected = x.values.map { v -> Double in let d = Double(v); return 0.5 * d * (1 + Foundation.erf(d / 2.0.squareRoot())) }
        assertClose(x.gelu(), expected, absolute: 1e-6, relative: 1e-6, "gelu")
    }

    func testSoftmaxAndLogSoftmax() {
        // Odd widths exercise the vector tails; a large offset checks the max shift.
        let x = G.uniform([5, 37], -8, 8, seed: 64) + 1000
        let rows = (0..<5).map { r in (0..<37).map { Double(x[r, $0]) } }
        assertClose(x.softmax(), rows.flatMap(DoubleReference.softmax), absolute: 1e-7, relative: 1e-5, "softmax")
        assertClose(x.logSoftmax(), rows.flatMap { DoubleReference.softmax($0).map { Foundation.log($0) } },
                    absolute: 1e-4, relative: 1e-6, "logSoftmax")
        let sums = x.softmax().sum(axis: -1).values
        for s in sums { XCTAssertEqual(s, 1, accuracy: 1e-6) }
    }

    func testLayerNorm() {
        let width = 19
        let x = G.uniform([3, 4, width], -3, 3, seed: 65) + 5
        let w = G.uniform([width], 0.5, 1.5, seed: 66), b = G.uniform([width], seed: 67)
        var expected: [Double] = []
        for r in 0..<12 {
            let row = (0..<width).map { Double(x.pointer[r * width + $0]) }
            let mean = row.reduce(0, +) / Double(width)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(width)
            let rstd = 1 / (variance + 1e-5).squareRoot()
            expected += row.enumerated().map { j, v in (v - mean) * rstd * Double(w.pointer[j]) + Double(b.pointer[j]) }
        }
        assertClose(x.layerNorm(weight: w, bias: b), expected, absolute: 2e-5, "layerNorm")
    }

    func testAttentionWithAndWithoutCausalMask() {
        let (batch, t, width, heads) = (2, 6, 8, 2)
        let qkv = G.uniform([batch, t, 3 * width], -2, 2, seed: 68)
        let q = qkv.slice(axis: 2, 0..<width), k = qkv.slice(axis: 2, width..<(2 * width)), v = qkv.slice(axis: 2, (2 * width)..<(3 * width))
        for causal in [false, true] {
            let expected = DoubleReference.attention(q: q, k: k, v: v, heads: heads, causal: causal)
            assertClose(Tensor.attention(packedQKV: qkv, heads: heads, causal: causal), expected, absolute: 1e-5, "packed causal=\(causal)")
            assertClose(Tensor.attention(query: q, key: k, value: v, heads: heads, causal: causal), expected, absolute: 1e-5, "separate causal=\(causal)")
        }
        // The first causal row attends only to position 0: its output is exactly v[0].
        let first = Tensor.attention(packedQKV: qkv, heads: heads, causal: true)
        for c in 0..<width { XCTAssertEqual(first[0, 0, c], v[0, 0, c], accuracy: 1e-6) }
        let longKeys = G.uniform([1, 5, width], seed: 69), longValues = G.uniform([1, 5, width], seed: 70)
        let shortQueries = G.uniform([1, 3, width], seed: 71)
        assertClose(Tensor.attention(query: shortQueries, key: longKeys, value: longValues, heads: 4, causal: false),
                    DoubleReference.attention(q: shortQueries, k: longKeys, v: longValues, heads: 4, causal: false),
                    absolute: 1e-5, "Tq≠Tk")
    }

    /// A convolution as the patch embedding computes it, unfolded patches through a linear layer, against direct loops.
    func testUnfoldedPatchesConvolveAsDirectLoops() {
        for (stride, padding, kernel, size) in [(4, 0, 4, 8), (2, 1, 3, 7), (1, 2, 3, 5)] {
            let x = G.uniform([2, 3, size, size], seed: 72), w = G.uniform([4, 3, kernel, kernel], seed: 73)
            let out = (size + 2 * padding - kernel) / stride + 1
            let patches = Tensor.unfoldPatches(x, kernel: kernel, stride: stride, padding: padding)
            XCTAssertEqual(patches.shape, [2, out * out, 3 * kernel * kernel])
            let y = Tensor.linear(patches, weight: w.reshaped([4, 3 * kernel * kernel]), bias: nil)   // [B, positions, O]
            var expected: [Double] = []
            for b in 0..<2 { for oy in 0..<out { for ox in 0..<out { for o in 0..<4 {
                var s = 0.0
                for c in 0..<3 { for ky in 0..<kernel { for kx in 0..<kernel {
                    let iy = oy * stride + ky - padding, ix = ox * stride + kx - padding
                    if iy >= 0 && iy < size && ix >= 0 && ix < size { s += Double(x[b, c, iy, ix]) * Double(w[o, c, ky, kx]) }
                } } }
                expected.append(s)
            } } } }
            assertClose(y, expected, absolute: 1e-5, "unfolded convolution stride \(stride) padding \(padding)")
        }
    }

    func testMatmulLinearAvgPoolCrossEntropy() {
        let a = G.uniform([2, 3, 4], seed: 74), b = G.uniform([4, 5], seed: 75), bias = G.uniform([5], seed: 76)
        var expected: [Double] = []
        for i in 0..<2 { for r in 0..<3 { for c in 0..<5 {
            expected.append((0..<4).reduce(0.0) { $0 + Double(a[i, r, $1]) * Double(b[$1, c]) })
        } } }
        assertClose(Tensor.matmul(a, b), expected, absolute: 1e-6, "matmul")
        let linear = Tensor.linear(a, weight: b.transposed(), bias: bias)
        assertClose(linear, expected.enumerated().map { $0.element + Double(bias.pointer[$0.offset % 5]) }, absolute: 1e-6, "linear")

        let image = Tensor(shape: [1, 1, 4, 4], values: (0..<16).map(Float.init))
        XCTAssertEqual(image.avgPool2d(kernel: 2, stride: 2).values, [2.5, 4.5, 10.5, 12.5])

        let logits = G.uniform([3, 4], -3, 3, seed: 77)
        let labels: [Int32] = [3, 0, 3]
        let rows = (0..<3).map { r in (0..<4).map { Double(logits[r, $0]) } }
        let loss = zip(rows, labels).map { -Foundation.log(DoubleReference.softmax($0)[Int($1)]) }.reduce(0, +) / 3
        XCTAssertEqual(Double(logits.crossEntropy(labels: labels).scalar), loss, accuracy: 1e-6)
    }

    func testReductionsAndShapes() {
        let x = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(x.sum(axis: 0).values, [5, 7, 9])
        XCTAssertEqual(x.sum(axis: 1).values, [6, 15])
        XCTAssertEqual(x.mean(axis: -1).values, [2, 5])
        XCTAssertEqual(x.sum().scalar, 21)
        XCTAssertEqual(x.transposed().values, [1, 4, 2, 5, 3, 6])
        XCTAssertEqual(x.permuted([1, 0]).shape, [3, 2])
        let cube = Tensor(shape: [2, 2, 3], values: (0..<12).map(Float.init))
        XCTAssertEqual(cube.permuted([1, 0, 2]).values, [0, 1, 2, 6, 7, 8, 3, 4, 5, 9, 10, 11])
        XCTAssertEqual(cube.permuted([2, 0, 1]).values, [0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11])
        XCTAssertEqual(x.slice(axis: 1, 1..<3).values, [2, 3, 5, 6])
        XCTAssertEqual(Tensor.concatenate([x, x.slice(axis: 0, 0..<1)], axis: 0).values, [1, 2, 3, 4, 5, 6, 1, 2, 3])
        XCTAssertEqual(x.gatherRows([1, 1, 0]).values, [4, 5, 6, 4, 5, 6, 1, 2, 3])
        XCTAssertEqual(Tensor(shape: [3], values: [1, 2, 3]).expanded(to: [2, 3]).values, [1, 2, 3, 1, 2, 3])
        XCTAssertEqual((x + Tensor(shape: [2, 1], values: [10, 20])).values, [11, 12, 13, 24, 25, 26])
        let normalized = Tensor(shape: [1, 2], values: [3, 4]).l2Normalized().values
        XCTAssertEqual(normalized[0], 0.6, accuracy: 1e-7); XCTAssertEqual(normalized[1], 0.8, accuracy: 1e-7)
        // A long sum must not lose digits (Float accumulation of 1e7 ones would be off by far more).
        XCTAssertEqual(Tensor(shape: [10_000_001], repeating: 1).sum().scalar, 10_000_001, accuracy: 1)
    }
}

/// Which OpenBLAS kernel family the executables ask for.
final class BLASKernelChoiceTests: XCTestCase {
    let avx512: Set<String> = ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"]

    func testAGenericFallbackOnAWideCPUGetsTheWidestFamily() {
        XCTAssertEqual(BLASKernelChoice.better(than: "Prescott", flags: avx512, userChoice: nil), "SkylakeX")
        XCTAssertEqual(BLASKernelChoice.better(than: "Haswell", flags: avx512, userChoice: nil), "SkylakeX")
        XCTAssertEqual(BLASKernelChoice.better(than: "Prescott", flags: ["avx2", "fma"], userChoice: nil), "Haswell")
    }

    func testGoodChoicesAndTheUsersChoiceStand() {
        XCTAssertNil(BLASKernelChoice.better(than: "SkylakeX", flags: avx512, userChoice: nil))
        XCTAssertNil(BLASKernelChoice.better(than: "Zen", flags: ["avx2", "fma"], userChoice: nil))
        XCTAssertNil(BLASKernelChoice.better(than: "Prescott", flags: avx512, userChoice: "Nehalem"))
        XCTAssertNil(BLASKernelChoice.better(than: "Prescott", flags: ["sse2", "sse4_2"], userChoice: nil))
    }
}
