import XCTest
@testable import TensorCore

/// Cross-attention: queries [B, Tq, W] attending to keys | values [B, Tk, 2W] of another sequence, optionally padded
/// (a count of valid keys per batch row). Tolerances: GradientCheck.swift.
final class CrossAttentionTests: XCTestCase {
    typealias G = GradientCheck
    let (batch, queryLength, keyLength, width) = (2, 3, 5, 8)

    func queries(seed: UInt64) -> Tensor { G.uniform([batch, queryLength, width], -2, 2, seed: seed) }
    func keysOrValues(seed: UInt64) -> Tensor { G.uniform([batch, keyLength, width], -2, 2, seed: seed) }

    func crossAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, heads: Int, counts: [Int]?) -> Tensor {
        Tensor.crossAttention(queries: q, keysValues: Tensor.concatenate([k, v], axis: 2), heads: heads, validKeyCounts: counts)
    }

    func testValuesAgainstTheDoubleReference() {
        let q = queries(seed: 1), k = keysOrValues(seed: 2), v = keysOrValues(seed: 3)
        for heads in [1, 2, 4] {
            for counts in [nil, [5, 3], [0, 4]] as [[Int]?] {
                let expected = DoubleReference.attention(q: q, k: k, v: v, heads: heads, causal: false, validKeyCounts: counts)
                let actual = crossAttention(q, k, v, heads: heads, counts: counts)
                XCTAssertEqual(actual.shape, [batch, queryLength, width])
                for (a, e) in zip(actual.values, expected) {
                    XCTAssertEqual(Double(a), e, accuracy: 1e-5, "heads \(heads), valid keys \(String(describing: counts))")
                }
            }
        }
    }

    /// Gradients of the queries, the keys and the values (the keys and values enter through one packed tensor).
    func testGradientsOfQueriesKeysAndValuesAgainstFiniteDifferences() {
        let q = queries(seed: 4), k = keysOrValues(seed: 5), v = keysOrValues(seed: 6)
        for heads in [2, 4] {
            for counts in [nil, [5, 2], [3, 0]] as [[Int]?] {
                assertGradients("cross-attention heads \(heads) valid keys \(String(describing: counts))", [q, k, v], tolerance: 1e-3) {
                    crossAttention($0[0], $0[1], $0[2], heads: heads, counts: counts)
                }
            }
        }
    }

    func testFusedOutputProjectionAgainstFiniteDifferences() {
        let q = queries(seed: 7), kv = G.uniform([batch, keyLength, 2 * width], seed: 8)
        let w = G.uniform([6, width], seed: 9), b = G.uniform([6], seed: 10), r = G.uniform([batch, queryLength, 6], seed: 11)
        for counts in [nil, [1, 4]] as [[Int]?] {
            assertGradients("cross-attention projection valid keys \(String(describing: counts))", [q, kv, w, b, r], tolerance: 1e-3) {
                Tensor.crossAttentionProjection(queries: $0[0], keysValues: $0[1], heads: 2, validKeyCounts: counts,
                                                weight: $0[2], bias: $0[3], adding: $0[4])
            }
        }
    }

    /// The fused projection gives the values and gradients of cross-attention followed by a linear layer.
    func testFusedOutputProjectionMatchesTheComposition() {
        let q = queries(seed: 12), kv = G.uniform([batch, keyLength, 2 * width], seed: 13)
        let w = G.uniform([width, width], seed: 14), b = G.uniform([width], seed: 15), seed = G.uniform([batch, queryLength, width], seed: 16)
        let counts = [2, 5]
        let fused: ([Tensor]) -> Tensor = {
            Tensor.crossAttentionProjection(queries: $0[0], keysValues: $0[1], heads: 2, validKeyCounts: counts, weight: $0[2], bias: $0[3],
                                            adding: $0[0])
        }
        let plain: ([Tensor]) -> Tensor = {
            Tensor.linear(Tensor.crossAttention(queries: $0[0], keysValues: $0[1], heads: 2, validKeyCounts: counts),
                          weight: $0[2], bias: $0[3], adding: $0[0])
        }
        let inputs = [q, kv, w, b]
        XCTAssertEqual(withoutGradients { fused(inputs) }.values, withoutGradients { plain(inputs) }.values)
        let a = G.analytic(inputs, differentiate: [0, 1, 2, 3], r: seed, fused), p = G.analytic(inputs, differentiate: [0, 1, 2, 3], r: seed, plain)
        for i in 0..<4 {
            for (u, v) in zip(a[i]!.values, p[i]!.values) { XCTAssertEqual(u, v, accuracy: 1e-6 * max(1, abs(v)), "input \(i)") }
        }
    }

    /// A sequence attending to itself without a mask is the existing non-causal self-attention: same values, same gradients.
    func testSelfAttentionThroughCrossAttentionEqualsNonCausalAttention() {
        let qkv = G.uniform([batch, keyLength, 3 * width], -2, 2, seed: 17), seed = G.uniform([batch, keyLength, width], seed: 18)
        let selfAttention: ([Tensor]) -> Tensor = { Tensor.attention(packedQKV: $0[0], heads: 2, causal: false) }
        let throughCross: ([Tensor]) -> Tensor = {
            Tensor.crossAttention(queries: $0[0].slice(axis: 2, 0..<self.width), keysValues: $0[0].slice(axis: 2, self.width..<3 * self.width),
                                  heads: 2)
        }
        XCTAssertEqual(withoutGradients { throughCross([qkv]) }.values, withoutGradients { selfAttention([qkv]) }.values)
        let viaCross = G.analytic([qkv], differentiate: [0], r: seed, throughCross)[0]!.values
        let viaSelf = G.analytic([qkv], differentiate: [0], r: seed, selfAttention)[0]!.values
        for (a, b) in zip(viaCross, viaSelf) { XCTAssertEqual(a, b, accuracy: 1e-6 * max(1, abs(b))) }
    }

    /// A batch row with no valid key outputs zeros and passes no gradient; padded keys and values are never read (NaN
    /// there changes nothing) and get a zero gradient.
    func testNoValidKeyGivesZerosAndPaddingIsNeverRead() {
        let counts = [0, 3]
        var kvValues = G.uniform([batch, keyLength, 2 * width], seed: 19).values
        for b in 0..<batch {
            for j in counts[b]..<keyLength { for c in 0..<(2 * width) { kvValues[(b * keyLength + j) * 2 * width + c] = .nan } }
        }
        let q = queries(seed: 20), kv = Tensor(shape: [batch, keyLength, 2 * width], values: kvValues)
        let r = G.uniform([batch, queryLength, width], seed: 21)
        let gradients = G.analytic([q, kv], differentiate: [0, 1], r: r) {
            Tensor.crossAttention(queries: $0[0], keysValues: $0[1], heads: 2, validKeyCounts: counts)
        }
        let output = Tensor.crossAttention(queries: q, keysValues: kv, heads: 2, validKeyCounts: counts)
        let rowSize = queryLength * width
        XCTAssertEqual(Array(output.values[0..<rowSize]), Array(repeating: 0, count: rowSize), "no valid key: zeros")
        XCTAssertTrue(output.values.allSatisfy(\.isFinite))
        let dq = gradients[0]!.values, dkv = gradients[1]!.values
        XCTAssertEqual(Array(dq[0..<rowSize]), Array(repeating: 0, count: rowSize), "no valid key: no query gradient")
        XCTAssertTrue(dq[rowSize...].contains { $0 != 0 })
        for b in 0..<batch {
            for j in 0..<keyLength {
                let row = dkv[((b * keyLength + j) * 2 * width)..<((b * keyLength + j + 1) * 2 * width)]
                if j >= counts[b] {
                    XCTAssertEqual(Array(row), Array(repeating: 0, count: 2 * width), "padded key \(j) of batch \(b)")
                } else {
                    XCTAssertTrue(row.allSatisfy(\.isFinite) && row.contains { $0 != 0 }, "valid key \(j) of batch \(b)")
                }
            }
        }
    }
}
