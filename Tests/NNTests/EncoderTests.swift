@testable import NN
import TensorCore
import XCTest

/// The reusable image and text encoders: keys under the caller's scope, the pooled path (the last block computing only
/// the pooled rows) agreeing with the full token sequence, and per-encoder recomputation settings.
final class EncoderTests: XCTestCase {
    var visionConfig: VisionTransformerConfig {
        var config = VisionTransformerConfig()
        (config.imageSize, config.patchSize, config.width, config.layers, config.headWidth) = (16, 8, 16, 2, 8)
        return config
    }

    var textConfig: TextTransformerConfig {
        var config = TextTransformerConfig()
        (config.contextLength, config.vocabSize, config.width, config.heads, config.layers) = (6, 20, 16, 2, 2)
        return config
    }

    let outputDim = 12
    /// Two rows whose end-of-text tokens (the largest ids) sit at different positions.
    let tokens: [Int32] = [3, 7, 19, 0, 0, 0, 4, 5, 6, 8, 19, 0]

    func images(_ count: Int) -> Tensor {
        var generator = SplitMix64(seed: 4)
        return Tensor.randomNormal([count, 3, 16, 16], using: &generator)
    }

    func makeVision(scope: String = "visual") -> (ParameterStore, VisionTransformerEncoder) {
        let store = ParameterStore()
        let encoder = VisionTransformerEncoder(ParameterBuilder(store: store, seed: 1).scope(scope), config: visionConfig, outputDim: outputDim)
        store.seal()
        perturb(store, seed: 2)
        return (store, encoder)
    }

    func makeText(scope: String? = nil) -> (ParameterStore, TextTransformerEncoder) {
        let store = ParameterStore()
        let root = ParameterBuilder(store: store, seed: 1)
        let encoder = TextTransformerEncoder(scope.map { root.scope($0) } ?? root, config: textConfig, outputDim: outputDim, activation: .quickGELU)
        store.seal()
        perturb(store, seed: 3)
        return (store, encoder)
    }

    func testParametersAreRegisteredUnderTheCallersScopeInOpenCLIPsOrder() {
        let vision = makeVision().0.parameters.map(\.name)
        XCTAssertEqual(Array(vision.prefix(5)), ["visual.conv1.weight", "visual.class_embedding", "visual.positional_embedding",
                                                 "visual.ln_pre.weight", "visual.ln_pre.bias"])
        XCTAssertEqual(Array(vision.suffix(3)), ["visual.ln_post.weight", "visual.ln_post.bias", "visual.proj"])
        XCTAssertEqual(vision[5], "visual.transformer.resblocks.0.ln_1.weight")
        let atRoot = makeText().0.parameters.map(\.name)
        XCTAssertEqual(Array(atRoot.prefix(3)), ["token_embedding.weight", "positional_embedding", "transformer.resblocks.0.ln_1.weight"])
        XCTAssertEqual(Array(atRoot.suffix(3)), ["ln_final.weight", "ln_final.bias", "text_projection"])
        XCTAssertEqual(makeText(scope: "text").0.parameters.map(\.name), atRoot.map { "text." + $0 })
    }

    /// The pooled features are the full token sequence's pooled rows, projected: values and every gradient.
    func testPooledFeaturesAreTheProjectedPooledTokens() {
        let (visionStore, vision) = makeVision()
        let input = images(2)
        var generator = SplitMix64(seed: 5)
        let r = Tensor.randomNormal([2, outputDim], using: &generator)
        let projection = visionStore["visual.proj"]!
        let (pooled, pooledGradients) = outputAndGradients(store: visionStore, inputs: [input], r: r) { vision.pooledFeatures($0[0]) }
        let (fromTokens, tokenGradients) = outputAndGradients(store: visionStore, inputs: [input], r: r) {
            let tokens = vision.tokenFeatures($0[0])
            XCTAssertEqual(tokens.shape, [2, self.visionConfig.tokens, self.visionConfig.width])
            return Tensor.matmul(tokens.reshaped([2 * self.visionConfig.tokens, 16]).gatherRows([0, Int32(self.visionConfig.tokens)]),
                                 projection.tensor)
        }
        for (a, b) in zip(pooled.values, fromTokens.values) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        assertSameGradients(pooledGradients, tokenGradients, relative: 1e-5, "vision")

        let (textStore, text) = makeText()
        let textProjection = textStore["text_projection"]!
        let (pooledText, pooledTextGradients) = outputAndGradients(store: textStore, inputs: [], r: r) { _ in text.pooledFeatures(self.tokens) }
        let (fromTextTokens, textTokenGradients) = outputAndGradients(store: textStore, inputs: [], r: r) { _ in
            let sequence = text.tokenFeatures(self.tokens)
            XCTAssertEqual(sequence.shape, [2, 6, 16])
            return Tensor.matmul(sequence.reshaped([12, 16]).gatherRows([2, 6 + 4]), textProjection.tensor)
        }
        for (a, b) in zip(pooledText.values, fromTextTokens.values) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        assertSameGradients(pooledTextGradients, textTokenGradients, relative: 1e-5, "text")
    }

    /// The text tower's MLPs skip the positions after each row's end-of-text token (nothing the pooled row reads): with a
    /// full row beside padded ones and recomputed MLP hidden layers, values and every gradient are the full sequence's.
    func testPooledTextSkipsPositionsAfterTheEndToken() {
        XCTAssertNil(TextTransformerEncoder.rowsThrough([5, 11], length: 6), "no padding: every position")
        XCTAssertEqual(TextTransformerEncoder.rowsThrough([2, 11, 12], length: 6), [0, 1, 2, 6, 7, 8, 9, 10, 11, 12])
        let rows: [Int32] = [3, 7, 19, 0, 0, 0, 4, 5, 6, 8, 9, 19, 19, 0, 0, 0, 0, 0]
        var generator = SplitMix64(seed: 7)
        let r = Tensor.randomNormal([3, outputDim], using: &generator)
        let (store, plain) = makeText()
        var text = plain
        text.transformer.mlpRecomputedBlocks = 1
        let (pooled, gradients) = outputAndGradients(store: store, inputs: [], r: r) { _ in text.pooledFeatures(rows) }
        let (expected, expectedGradients) = outputAndGradients(store: store, inputs: [], r: r) { _ in
            Tensor.matmul(plain.tokenFeatures(rows).reshaped([18, 16]).gatherRows([2, 11, 12]), store["text_projection"]!.tensor)
        }
        for (a, b) in zip(pooled.values, expected.values) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        assertSameGradients(gradients, expectedGradients, relative: 1e-5, "text with skipped positions")
    }

    /// Many short captions beside a few long ones run as separate length groups (`CaptionLengthGroups`), each only as far
    /// as its longest caption, and come back in the batch's order: values and every gradient are the full sequence's,
    /// also with checkpointed blocks.
    func testPooledTextRunsLengthGroupsInTheBatchsOrder() {
        var rows: [Int32] = [], ends: [Int32] = []
        for b in 0..<44 {
            let length = b % 11 == 5 ? 6 : 1 + b % 3   // four full rows among short ones
            rows += (0..<6).map { $0 < length - 1 ? Int32(1 + (b + $0) % 17) : $0 == length - 1 ? 19 : 0 }
            ends.append(Int32(b * 6 + length - 1))
        }
        let lengths = TextTransformerEncoder.endOfTextPositions(rows, contextLength: 6).map { $0 + 1 }
        XCTAssertGreaterThan(CaptionLengthGroups(lengths: lengths).groups.count, 1, "the batch must split into groups")
        var generator = SplitMix64(seed: 8)
        let r = Tensor.randomNormal([44, outputDim], using: &generator)
        let (store, plain) = makeText()
        let (expected, expectedGradients) = outputAndGradients(store: store, inputs: [], r: r) { _ in
            Tensor.matmul(plain.tokenFeatures(rows).reshaped([44 * 6, 16]).gatherRows(ends), store["text_projection"]!.tensor)
        }
        for checkpointed in [0, 1] {
            var text = plain
            text.transformer.checkpointedBlocks = checkpointed
            let (pooled, gradients) = outputAndGradients(store: store, inputs: [], r: r) { _ in text.pooledFeatures(rows) }
            for (a, b) in zip(pooled.values, expected.values) { XCTAssertEqual(a, b, accuracy: 1e-5) }
            assertSameGradients(gradients, expectedGradients, relative: 1e-5, "grouped text, \(checkpointed) checkpointed blocks")
        }
    }

    /// Each encoder carries its own recomputation settings; they change memory, not values or gradients.
    func testRecomputationSettingsAreTheEncodersOwn() {
        var generator = SplitMix64(seed: 6)
        let r = Tensor.randomNormal([2, 6, 16], using: &generator)
        let (store, plain) = makeText()
        var recomputing = plain
        recomputing.transformer.checkpointedBlocks = 1
        recomputing.transformer.mlpRecomputedBlocks = 2
        XCTAssertEqual([plain.transformer.checkpointedBlocks, plain.transformer.mlpRecomputedBlocks], [0, 0], "a copy has its own settings")
        let (expected, expectedGradients) = outputAndGradients(store: store, inputs: [], r: r) { _ in plain.tokenFeatures(self.tokens) }
        let (output, gradients) = outputAndGradients(store: store, inputs: [], r: r) { _ in recomputing.tokenFeatures(self.tokens) }
        for (a, b) in zip(output.values, expected.values) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        assertSameGradients(gradients, expectedGradients, relative: 1e-5, "text recomputation")
    }
}
