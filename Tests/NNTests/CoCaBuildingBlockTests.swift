import NN
import TensorCore
import XCTest

/// The pieces NN gained for CoCa: the chunked caption loss, the legacy padding mask's key counts and the pooler's keys.
final class CoCaBuildingBlockTests: XCTestCase {
    func testChunkedCrossEntropyEqualsTheLossOfTheWholeLogits() {
        let store = ParameterStore()
        let projection = ParameterBuilder(store: store, seed: 3).parameter("proj", [4, 5], .normal(std: 1))
        store.seal()
        var generator = SplitMix64(seed: 9)
        let features = Tensor.randomNormal([7, 4], using: &generator)
        let labels: [Int32] = [1, 0, 4, 2, 0, 3, 1]
        let kept: [Int32] = [0, 2, 3, 5, 6]
        let r = Tensor(scalar: 1)
        // Two rows per chunk: three chunks, the last one partial.
        let (chunked, chunkedGradients) = outputAndGradients(store: store, inputs: [features], r: r) {
            chunkedCrossEntropy(features: $0[0], projection: projection, labels: labels, ignoredLabel: 0, chunkElements: 10)!.loss
        }
        let (whole, wholeGradients) = outputAndGradients(store: store, inputs: [features], r: r) {
            Tensor.matmul($0[0].gatherRows(kept), projection.tensor).crossEntropy(labels: kept.map { labels[Int($0)] })
        }
        XCTAssertEqual(chunked.scalar, whole.scalar, accuracy: 1e-6)
        assertSameGradients(chunkedGradients, wholeGradients, relative: 1e-5, "chunked cross-entropy")
        XCTAssertEqual(chunkedCrossEntropy(features: features, projection: projection, labels: labels, ignoredLabel: 0)?.targets, 5)
        XCTAssertNil(chunkedCrossEntropy(features: features, projection: projection, labels: [Int32](repeating: 0, count: 7), ignoredLabel: 0))
    }

    /// OpenCLIP's shifted mask: the first pad position stays visible, the cls position (index `length`) only without padding.
    func testLegacyPaddingKeyCountsKeepTheFirstPadVisible() {
        let tokens: [Int32] = [5, 6, 7, 0, 0,
                               1, 2, 3, 4, 5,
                               9, 0, 0, 0, 0]
        XCTAssertEqual(TextTransformerEncoder.legacyPaddingKeyCounts(tokens, length: 5, padId: 0), [4, 6, 2])
    }

    func testPoolerKeysArePackedOnlyWhenTheWidthsAgree() {
        func names(contextWidth: Int) -> [String] {
            let store = ParameterStore()
            _ = AttentionalPooler(ParameterBuilder(store: store, seed: 0).scope("attn_pool"), width: 8, contextWidth: contextWidth,
                                  shape: AttentionalPoolerShape(queries: 3, heads: 2))
            return store.parameters.map(\.name)
        }
        XCTAssertEqual(names(contextWidth: 12), ["attn_pool.query", "attn_pool.attn.q_proj_weight", "attn_pool.attn.k_proj_weight",
                                                 "attn_pool.attn.v_proj_weight", "attn_pool.attn.in_proj_bias", "attn_pool.attn.out_proj.weight",
                                                 "attn_pool.attn.out_proj.bias", "attn_pool.ln_q.weight", "attn_pool.ln_q.bias",
                                                 "attn_pool.ln_k.weight", "attn_pool.ln_k.bias"])
        XCTAssertEqual(names(contextWidth: 8)[1], "attn_pool.attn.in_proj_weight")
    }
}
