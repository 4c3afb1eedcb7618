@testable import NN
import TensorCore
import XCTest

/// FLIP's patch dropout: which tokens survive, that gradients reach exactly the kept ones, and that p = 0 and evaluation
/// are the plain encoder bit for bit.
final class PatchDropoutTests: XCTestCase {
    /// 32 px images in 8 px patches: 16 patches and the class token.
    var visionConfig: VisionTransformerConfig {
        var config = VisionTransformerConfig()
        (config.imageSize, config.patchSize, config.width, config.layers, config.headWidth) = (32, 8, 16, 2, 8)
        return config
    }

    /// CoCa's image tower: an attentional pooler (3 queries over the kept tokens) instead of the class token.
    static let cocaPooler = AttentionalPoolerShape(queries: 3, heads: 2)

    func images(_ count: Int, seed: UInt64 = 4) -> Tensor {
        var generator = SplitMix64(seed: seed)
        return Tensor.randomNormal([count, 3, 32, 32], using: &generator)
    }

    func makeVision(dropout: PatchDropout, pooler: AttentionalPoolerShape? = nil) -> (ParameterStore, VisionTransformerEncoder) {
        let store = ParameterStore()
        var config = visionConfig
        config.attentionalPool = pooler
        var encoder = VisionTransformerEncoder(ParameterBuilder(store: store, seed: 1).scope("visual"), config: config, outputDim: 12)
        store.seal()
        perturb(store, seed: 2)
        encoder.patchDropout = dropout
        return (store, encoder)
    }

    func testKeepsTheClassTokenAndTheRoundedShareOfPatchesInOrder() {
        let input = images(4)
        for (probability, kept) in [(0.5, 8), (0.3, 11), (0.75, 4), (0.99, 1)] {
            let dropout = PatchDropout(probability: probability, seed: 7)
            XCTAssertEqual(dropout.keptPatchCount(patches: 16), kept)
            for rows in dropout.keptTokens(images: input, tokens: 17) {
                XCTAssertEqual(rows.count, 1 + kept, "p = \(probability)")
                XCTAssertEqual(rows.first, 0, "the class token comes first")
                XCTAssertEqual(rows, Array(Set(rows)).sorted(), "distinct rows in their original order")
                XCTAssert(rows.allSatisfy { (0..<17).contains($0) })
            }
        }
    }

    func testMaskDependsOnTheSeedAndThePixelsOnly() {
        let dropout = PatchDropout(probability: 0.5, seed: 7)
        let four = dropout.keptTokens(images: images(4), tokens: 17)
        XCTAssertEqual(Set(four).count, 4, "different images keep different patches")
        XCTAssertEqual(dropout.keptTokens(images: images(4).slice(axis: 0, 2..<4), tokens: 17), Array(four[2..<4]),
                       "an image keeps the same patches wherever it sits in a batch")
        XCTAssertNotEqual(PatchDropout(probability: 0.5, seed: 8).keptTokens(images: images(4), tokens: 17), four)
    }

    /// Embedding the kept patches only is the full embedding's kept rows: values and the gradients of conv1, the class
    /// token and the positional embedding (zero at the dropped positions).
    func testKeptPatchesEmbedAsTheFullEmbeddingsKeptRows() {
        let (store, encoder) = makeVision(dropout: PatchDropout(probability: 0.5, seed: 7))
        let input = images(3)
        let kept = encoder.patchDropout.keptTokens(images: input, tokens: 17)
        let rows = kept.enumerated().flatMap { b, tokens in tokens.map { Int32(b * 17 + $0) } }
        var generator = SplitMix64(seed: 9)
        let r = Tensor.randomNormal([3, 9, 16], using: &generator)
        let (dropped, droppedGradients) = outputAndGradients(store: store, inputs: [], r: r) { _ in
            encoder.embedding.positioned(input, keeping: kept, name: "test")
        }
        let (full, fullGradients) = outputAndGradients(store: store, inputs: [], r: r) { _ in
            encoder.embedding.positioned(input, name: "test").reshaped([3 * 17, 16]).gatherRows(rows).reshaped([3, 9, 16])
        }
        XCTAssertEqual(dropped.shape, [3, 9, 16])
        for (a, b) in zip(dropped.values, full.values) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        assertSameGradients(droppedGradients, fullGradients, relative: 1e-5, "kept patches")
    }

    /// Through the whole tower: the positional embedding's gradient by central differences, zero at dropped patches;
    /// with CLIP's class token and with CoCa's attentional pooler.
    func testEncoderGradientsMatchFiniteDifferences() {
        for pooler in [nil, Self.cocaPooler] { checkEncoderGradients(pooler: pooler) }
    }

    func checkEncoderGradients(pooler: AttentionalPoolerShape?) {
        let (store, encoder) = makeVision(dropout: PatchDropout(probability: 0.5, seed: 7), pooler: pooler)
        let input = images(1)
        var generator = SplitMix64(seed: 5)
        let r = Tensor.randomNormal([1, 12], using: &generator)
        let positional = store["visual.positional_embedding"]!
        let index = store.parameters.firstIndex { $0.name == positional.name }!
        let (_, gradients) = outputAndGradients(store: store, inputs: [], r: r) { _ in encoder.pooledFeatures(input, training: true) }
        let analytic = gradients[index]!.values
        let kept = Set(encoder.patchDropout.keptTokens(images: input, tokens: 17)[0])
        XCTAssertEqual(kept.count, 9)
        func objective() -> Double {
            Tape.shared.reset()
            let output = encoder.pooledFeatures(input, training: true)
            return zip(output.values, r.values).reduce(0) { $0 + Double($1.0 * $1.1) }
        }
        let width = 16, step: Float = 1e-2
        for token in 0..<17 {
            for column in [0, 5, 11] {
                let i = token * width + column
                let numeric = centralDifference(positional.pointer + i, step: step, objective)
                let label = "\(pooler == nil ? "class token" : "pooler"): token \(token) column \(column)"
                if kept.contains(token) {
                    XCTAssertEqual(Double(analytic[i]), numeric, accuracy: 2e-3 + 2e-2 * abs(numeric), label)
                } else {
                    XCTAssertEqual(analytic[i], 0, "dropped: \(label)")
                    XCTAssertEqual(numeric, 0, "dropped: \(label)")
                }
            }
        }
    }

    func testZeroProbabilityIsThePlainEncoderBitForBit() {
        for pooler in [nil, Self.cocaPooler] {
            let (store, encoder) = makeVision(dropout: PatchDropout(probability: 0, seed: 7), pooler: pooler)
            let input = images(3)
            var generator = SplitMix64(seed: 5)
            let r = Tensor.randomNormal([3, 12], using: &generator)
            let (training, trainingGradients) = outputAndGradients(store: store, inputs: [input], r: r) { encoder.pooledFeatures($0[0], training: true) }
            let (plain, plainGradients) = outputAndGradients(store: store, inputs: [input], r: r) { encoder.pooledFeatures($0[0]) }
            XCTAssertEqual(training.values, plain.values)
            assertSameGradients(trainingGradients, plainGradients, relative: 0, "p = 0, pooler \(pooler != nil)")
        }
    }

    func testEvaluationUsesEveryPatch() {
        for pooler in [nil, Self.cocaPooler] {
            // The stores own the parameters the encoders read, so they are kept alive.
            let (droppingStore, dropping) = makeVision(dropout: PatchDropout(probability: 0.5, seed: 7), pooler: pooler)
            let (plainStore, plain) = makeVision(dropout: PatchDropout(), pooler: pooler)
            defer { withExtendedLifetime((droppingStore, plainStore)) {} }
            let input = images(3)
            Tape.shared.reset()
            XCTAssertEqual(dropping.pooledFeatures(input).values, plain.pooledFeatures(input).values)
            XCTAssertNotEqual(dropping.pooledFeatures(input, training: true).values, plain.pooledFeatures(input).values)
        }
    }
}
