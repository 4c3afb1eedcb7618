import NN
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

    /// Tokens [B, 17, 2] whose row t of image b holds (b, t), so every output row says where it came from.
    func labelledTokens(_ batch: Int) -> Tensor {
        Tensor(shape: [batch, 17, 2], values: (0..<batch).flatMap { b in (0..<17).flatMap { [Float(b), Float($0)] } })
    }

    func testKeepsTheClassTokenAndTheRoundedShareOfPatchesInOrder() {
        let input = images(4)
        for (probability, kept) in [(0.5, 8), (0.3, 11), (0.75, 4), (0.99, 1)] {
            let dropout = PatchDropout(probability: probability, seed: 7)
            XCTAssertEqual(dropout.keptPatchCount(patches: 16), kept)
            let output = dropout(labelledTokens(4), images: input)
            XCTAssertEqual(output.shape, [4, 1 + kept, 2], "p = \(probability)")
            let keptTokens = dropout.keptTokens(images: input, tokens: 17)
            for b in 0..<4 {
                let rows = (0...kept).map { Int(output.values[(b * (1 + kept) + $0) * 2 + 1]) }
                XCTAssertEqual(rows.first, 0, "the class token comes first")
                XCTAssertEqual(rows, keptTokens[b])
                XCTAssertEqual(rows, Array(Set(rows)).sorted(), "distinct rows in their original order")
                XCTAssert((0...kept).allSatisfy { Int(output.values[(b * (1 + kept) + $0) * 2]) == b }, "rows of the image itself")
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

    /// The gradient of the input tokens is the output's gradient at the kept rows and zero at the dropped ones.
    func testGradientsReachExactlyTheKeptTokens() {
        let dropout = PatchDropout(probability: 0.5, seed: 7), input = images(2)
        var generator = SplitMix64(seed: 9)
        let r = Tensor.randomNormal([2, 9, 2], using: &generator)
        Tape.shared.reset()
        let tokens = labelledTokens(2).tracked()
        let gradient = Tape.shared.backward(from: dropout(tokens, images: input), seed: r)[tokens]!.values
        let kept = dropout.keptTokens(images: input, tokens: 17)
        for b in 0..<2 {
            for t in 0..<17 {
                let expected = kept[b].firstIndex(of: t).map { Array(r.values[((b * 9 + $0) * 2)..<((b * 9 + $0) * 2 + 2)]) } ?? [0, 0]
                XCTAssertEqual(Array(gradient[((b * 17 + t) * 2)..<((b * 17 + t) * 2 + 2)]), expected, "image \(b) token \(t)")
            }
        }
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
