import XCTest
@testable import TensorCore

/// Finite-difference checks of matrix products, attention and convolution (tolerances: GradientCheck.swift).
final class MatmulGradientTests: XCTestCase {
    typealias G = GradientCheck

    /// Shape of a stored operand that is `rows × cols` after the optional transpose.
    func stored(_ batch: [Int], _ rows: Int, _ cols: Int, _ transposed: Bool) -> [Int] {
        batch + (transposed ? [cols, rows] : [rows, cols])
    }

    func testMatmul2DAllTransposes() {
        for tA in [false, true] {
            for tB in [false, true] {
                let a = G.uniform(stored([], 3, 4, tA), seed: 41), b = G.uniform(stored([], 4, 5, tB), seed: 42)
                assertGradients("matmul tA=\(tA) tB=\(tB)", [a, b]) { Tensor.matmul($0[0], $0[1], transposeA: tA, transposeB: tB) }
            }
        }
    }

    func testBatchedMatmul() {
        for tA in [false, true] {
            for tB in [false, true] {
                let a = G.uniform(stored([2], 3, 4, tA), seed: 43), b = G.uniform(stored([2], 4, 5, tB), seed: 44)
                assertGradients("batched tA=\(tA) tB=\(tB)", [a, b]) { Tensor.matmul($0[0], $0[1], transposeA: tA, transposeB: tB) }
                let shared = G.uniform(stored([], 4, 5, tB), seed: 45)
                assertGradients("shared B tA=\(tA) tB=\(tB)", [a, shared]) { Tensor.matmul($0[0], $0[1], transposeA: tA, transposeB: tB) }
            }
        }
        let a4 = G.uniform([2, 2, 3, 4], seed: 46), b4 = G.uniform([2, 2, 4, 2], seed: 47)
        assertGradients("4-D batched", [a4, b4]) { Tensor.matmul($0[0], $0[1]) }
    }

    func testLinearOn3DInput() {
        let x = G.uniform([2, 3, 4], seed: 48), w = G.uniform([5, 4], seed: 49), b = G.uniform([5], seed: 50)
        assertGradients("linear with bias", [x, w, b]) { Tensor.linear($0[0], weight: $0[1], bias: $0[2]) }
        assertGradients("linear without bias", [x, w]) { Tensor.linear($0[0], weight: $0[1], bias: nil) }
        assertGradients("linear weight only", [x, w, b], differentiate: [1]) { Tensor.linear($0[0], weight: $0[1], bias: $0[2]) }
    }

    func testPackedAttention() {
        let qkv = G.uniform([2, 4, 3 * 6], seed: 51)
        for causal in [false, true] {
            assertGradients("packed attention causal=\(causal)", [qkv], tolerance: 1e-3) {
                Tensor.attention(packedQKV: $0[0], heads: 2, causal: causal)
            }
        }
    }

    func testSeparateAttentionWithDifferentLengths() {
        let q = G.uniform([2, 3, 6], seed: 52), k = G.uniform([2, 5, 6], seed: 53), v = G.uniform([2, 5, 6], seed: 54)
        for causal in [false, true] {
            assertGradients("attention Tq≠Tk causal=\(causal)", [q, k, v], tolerance: 1e-3) {
                Tensor.attention(query: $0[0], key: $0[1], value: $0[2], heads: 3, causal: causal)
            }
        }
    }

    /// Attention for some query rows (two in one sequence, one read twice, a first and a last position).
    func testRowAttention() {
        let rows: [Int32] = [3, 4 + 1, 4 + 3, 3]
        let q = G.uniform([rows.count, 6], seed: 55), kv = G.uniform([2, 4, 2 * 6], seed: 56)
        for causal in [false, true] {
            assertGradients("row attention causal=\(causal)", [q, kv], tolerance: 1e-3) {
                Tensor.attention(queries: $0[0], atRows: rows, keysValues: $0[1], heads: 2, causal: causal)
            }
        }
    }

    /// Row attention's outputs are full attention's outputs at those rows.
    func testRowAttentionMatchesFullAttentionRows() {
        let (batch, tokens, width) = (3, 5, 8)
        let rows: [Int32] = [0, 5 + 4, 10 + 2, 10 + 3]
        let qkv = G.uniform([batch, tokens, 3 * width], seed: 66)
        let flat = qkv.reshaped([batch * tokens, 3 * width])
        let queries = flat.slice(axis: 1, 0..<width).gatherRows(rows)
        let keysValues = flat.slice(axis: 1, width..<3 * width).reshaped([batch, tokens, 2 * width])
        for causal in [false, true] {
            let full = Tensor.attention(packedQKV: qkv, heads: 2, causal: causal).reshaped([batch * tokens, width]).gatherRows(rows)
            let kept = Tensor.attention(queries: queries, atRows: rows, keysValues: keysValues, heads: 2, causal: causal)
            XCTAssertEqual(kept.shape, full.shape)
            for (a, b) in zip(kept.values, full.values) { XCTAssertEqual(a, b, accuracy: 1e-6, "causal=\(causal)") }
        }
    }

    func testAttentionProjection() {
        let qkv = G.uniform([2, 4, 3 * 6], seed: 57), w = G.uniform([5, 6], seed: 58), b = G.uniform([5], seed: 59)
        let r = G.uniform([2, 4, 5], seed: 60)
        for causal in [false, true] {
            assertGradients("attention projection causal=\(causal)", [qkv, w, b, r], tolerance: 1e-3) {
                Tensor.attentionProjection(packedQKV: $0[0], heads: 2, causal: causal, weight: $0[1], bias: $0[2], adding: $0[3])
            }
            assertGradients("attention projection without bias causal=\(causal)", [qkv, w], tolerance: 1e-3) {
                Tensor.attentionProjection(packedQKV: $0[0], heads: 3, causal: causal, weight: $0[1], bias: nil)
            }
        }
    }

    /// Causal self-attention that also ignores each row's trailing positions (CoCa's padded text): finite differences,
    /// and the masked keys' values have no effect on the output.
    func testAttentionProjectionWithValidKeyCounts() {
        let qkv = G.uniform([2, 5, 3 * 6], seed: 67), w = G.uniform([4, 6], seed: 68), b = G.uniform([4], seed: 69)
        let counts = [3, 5]
        for causal in [false, true] {
            assertGradients("attention projection with key counts causal=\(causal)", [qkv, w, b], tolerance: 1e-3) {
                Tensor.attentionProjection(packedQKV: $0[0], heads: 2, causal: causal, validKeyCounts: counts, weight: $0[1], bias: $0[2])
            }
        }
        // Changing row 0's keys at positions 3 and 4 changes nothing in row 0.
        var changed = qkv.values
        for t in 3..<5 { for j in 6..<18 { changed[t * 18 + j] += 1 } }
        let before = Tensor.attentionProjection(packedQKV: qkv, heads: 2, causal: true, validKeyCounts: counts, weight: w, bias: b)
        let after = Tensor.attentionProjection(packedQKV: Tensor(shape: qkv.shape, values: changed), heads: 2, causal: true,
                                               validKeyCounts: counts, weight: w, bias: b)
        XCTAssertEqual(Array(before.values[..<20]), Array(after.values[..<20]))
        XCTAssertNotEqual(before.values, withoutGradients {
            Tensor.attentionProjection(packedQKV: Tensor(shape: qkv.shape, values: changed), heads: 2, causal: true, weight: w, bias: b)
        }.values)
    }

    /// Over several chunks of batches (the last one partial), the fused attention and projection give the values and
    /// gradients of attention followed by a linear layer.
    func testAttentionProjectionMatchesTheCompositionOverSeveralChunks() {
        let (tokens, width, heads) = (256, 512, 8)
        let batchesPerChunk = FusedLinearGradient.chunkRows(width: width, rows: .max) / tokens
        let batch = 2 * batchesPerChunk + 1
        let qkv = G.uniform([batch, tokens, 3 * width], seed: 61), w = G.uniform([4, width], seed: 62), b = G.uniform([4], seed: 63)
        let r = G.uniform([batch, tokens, 4], seed: 64), seed = G.uniform([batch, tokens, 4], seed: 65)
        for causal in [false, true] {
            let fused: ([Tensor]) -> Tensor = {
                Tensor.attentionProjection(packedQKV: $0[0], heads: heads, causal: causal, weight: $0[1], bias: $0[2], adding: $0[3])
            }
            let plain: ([Tensor]) -> Tensor = {
                Tensor.linear(Tensor.attention(packedQKV: $0[0], heads: heads, causal: causal), weight: $0[1], bias: $0[2], adding: $0[3])
            }
            let inputs = [qkv, w, b, r]
            // Equal up to rounding: BLAS kernels may sum a product differently for a different number of rows.
            let fusedValues = withoutGradients { fused(inputs) }.values, plainValues = withoutGradients { plain(inputs) }.values
            for (u, v) in zip(fusedValues, plainValues) { XCTAssertEqual(u, v, accuracy: 1e-5 * max(1, abs(v)), "values causal=\(causal)") }
            let a = G.analytic(inputs, differentiate: [0, 1, 2, 3], r: seed, fused)
            let p = G.analytic(inputs, differentiate: [0, 1, 2, 3], r: seed, plain)
            for i in 0..<4 {
                // The weight gradient sums over every row, in chunks here and in one product there.
                let bound: Float = i == 1 ? 1e-4 : 1e-6
                for (u, v) in zip(a[i]!.values, p[i]!.values) {
                    XCTAssertEqual(u, v, accuracy: bound * max(1, abs(v)), "input \(i) causal=\(causal)")
                }
            }
        }
    }

    func testUnfoldedPatchEmbedding() {
        let x = G.uniform([2, 3, 8, 8], seed: 55), w = G.uniform([4, 3, 4, 4], seed: 56)
        func embed(_ t: [Tensor]) -> Tensor {
            Tensor.linear(Tensor.unfoldPatches(t[0], kernel: 4, stride: 4), weight: t[1].reshaped([4, 48]), bias: nil)
        }
        assertGradients("unfolded patches, stride = kernel", [x, w], embed)
        assertGradients("unfolded patches, weight only", [x, w], differentiate: [1], embed)
    }

    func testUnfoldedPatchesStrideTwoPaddingOne() {
        let x = G.uniform([2, 2, 7, 7], seed: 57), w = G.uniform([3, 2, 3, 3], seed: 58)
        assertGradients("unfolded patches stride 2 padding 1", [x, w]) {
            Tensor.linear(Tensor.unfoldPatches($0[0], kernel: 3, stride: 2, padding: 1), weight: $0[1].reshaped([3, 18]), bias: nil)
        }
    }
}
