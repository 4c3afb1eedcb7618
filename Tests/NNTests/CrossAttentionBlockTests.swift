import NN
import TensorCore
import XCTest

/// OpenCLIP's cross-attention residual block (`isCrossAttention`): its keys, and its values and gradients against the same maths written
/// with the primitive operations (layer norms, linear layers, attention of each batch row over its valid keys only).
final class CrossAttentionBlockTests: XCTestCase {
    let (batch, queryLength, keyLength, width, heads) = (2, 3, 5, 8, 2)

    func makeBlock() -> (ParameterStore, ResidualAttentionBlock) {
        let store = ParameterStore()
        let block = ResidualAttentionBlock(ParameterBuilder(store: store, seed: 5).scope("cross_attn.0"), width: width, heads: heads,
                                           mlpWidth: 4 * width, isCrossAttention: true)
        store.seal()
        perturb(store, seed: 6)
        return (store, block)
    }

    func testKeysAndOrderAreOpenCLIPs() {
        let (store, block) = makeBlock()
        let expected = ["ln_1.weight", "ln_1.bias", "attn.in_proj_weight", "attn.in_proj_bias", "attn.out_proj.weight", "attn.out_proj.bias",
                        "ln_1_kv.weight", "ln_1_kv.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
                        "mlp.c_proj.weight", "mlp.c_proj.bias"].map { "cross_attn.0." + $0 }
        XCTAssertEqual(store.parameters.map(\.name), expected)
        XCTAssertEqual(block.parameters.map(\.name), expected)
        XCTAssertEqual(store["cross_attn.0.attn.in_proj_weight"]?.shape, [3 * width, width])
    }

    /// `x + attn(ln_1(x), ln_1_kv(other)); x + mlp(ln_2(x))` from primitive operations, attending batch row b to its
    /// first `counts[b]` positions of `other`.
    func composition(_ x: Tensor, _ other: Tensor, counts: [Int], store: ParameterStore) -> Tensor {
        func p(_ name: String) -> Tensor { store["cross_attn.0." + name]!.tensor }
        let inProj = p("attn.in_proj_weight"), inBias = p("attn.in_proj_bias")
        func band(_ rows: Range<Int>, _ input: Tensor) -> Tensor {
            Tensor.linear(input, weight: inProj.slice(axis: 0, rows), bias: inBias.slice(axis: 0, rows))
        }
        let normedOther = other.layerNorm(weight: p("ln_1_kv.weight"), bias: p("ln_1_kv.bias"))
        let queries = band(0..<width, x.layerNorm(weight: p("ln_1.weight"), bias: p("ln_1.bias")))
        let keys = band(width..<2 * width, normedOther), values = band(2 * width..<3 * width, normedOther)
        let attended = Tensor.concatenate((0..<batch).map { b in
            Tensor.attention(query: queries.slice(axis: 0, b..<b + 1), key: keys.slice(axis: 0, b..<b + 1).slice(axis: 1, 0..<counts[b]),
                             value: values.slice(axis: 0, b..<b + 1).slice(axis: 1, 0..<counts[b]), heads: heads, causal: false)
        }, axis: 0)
        let h = x + Tensor.linear(attended, weight: p("attn.out_proj.weight"), bias: p("attn.out_proj.bias"))
        let hidden = Tensor.linear(h.layerNorm(weight: p("ln_2.weight"), bias: p("ln_2.bias")), weight: p("mlp.c_fc.weight"), bias: p("mlp.c_fc.bias"))
        return h + Tensor.linear(hidden.gelu(), weight: p("mlp.c_proj.weight"), bias: p("mlp.c_proj.bias"))
    }

    func testValuesAndGradientsMatchThePrimitiveComposition() {
        var generator = SplitMix64(seed: 8)
        let x = Tensor.randomNormal([batch, queryLength, width], using: &generator)
        let other = Tensor.randomNormal([batch, keyLength, width], using: &generator)
        let r = Tensor.randomNormal([batch, queryLength, width], using: &generator)
        for counts in [nil, [keyLength, 2]] as [[Int]?] {
            let (store, block) = makeBlock()
            let (expected, expectedGradients) = outputAndGradients(store: store, inputs: [x, other], r: r) {
                composition($0[0], $0[1], counts: counts ?? [keyLength, keyLength], store: store)
            }
            let variants: [(String, ([Tensor]) -> Tensor)] = [
                ("fused", { block($0[0], attendingTo: $0[1], validKeyCounts: counts) }),
                ("MLP recomputed", { block($0[0], attendingTo: $0[1], validKeyCounts: counts, recomputingMLP: true) }),
                ("checkpointed", { block.checkpointed($0[0], attendingTo: $0[1], validKeyCounts: counts) }),
            ]
            for (name, variant) in variants {
                let (output, gradients) = outputAndGradients(store: store, inputs: [x, other], r: r, variant)
                let message = "\(name), valid keys \(String(describing: counts))"
                for (a, b) in zip(output.values, expected.values) { XCTAssertEqual(a, b, accuracy: 1e-5, message) }
                assertSameGradients(gradients, expectedGradients, relative: 1e-5, message)
            }
            // Every gradient flows (the padded positions' gradient of `other` is zero, the rest is not).
            XCTAssertTrue(expectedGradients.allSatisfy { $0!.values.contains { $0 != 0 } })
        }
    }
}
