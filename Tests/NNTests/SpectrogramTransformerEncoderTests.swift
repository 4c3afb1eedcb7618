import Foundation
import NN
import TensorCore
import XCTest

/// The audio tower: overlapping patch grid, keys, clip averaging, gradients of its new parts by central differences,
/// and its JSON config.
final class SpectrogramTransformerEncoderTests: XCTestCase {
    /// 24 mel bins x 30 frames, 8x8 patches every 5: a 4 x 5 grid of overlapping patches.
    var config: SpectrogramTransformerConfig {
        var config = SpectrogramTransformerConfig()
        (config.melBins, config.frames, config.patchSize, config.patchStride) = (24, 30, 8, 5)
        (config.width, config.layers, config.headWidth) = (16, 2, 8)
        return config
    }

    func make() -> (ParameterStore, SpectrogramTransformerEncoder) {
        let store = ParameterStore()
        let encoder = SpectrogramTransformerEncoder(ParameterBuilder(store: store, seed: 1).scope("audio"), config: config, outputDim: 12)
        store.seal()
        perturb(store, seed: 2)
        return (store, encoder)
    }

    func spectrograms(_ count: Int, seed: UInt64 = 4) -> Tensor {
        var generator = SplitMix64(seed: seed)
        return Tensor.randomNormal([count, 1, 24, 30], using: &generator)
    }

    func testGridKeysAndShapes() {
        XCTAssertEqual(config.gridHeight, 4)
        XCTAssertEqual(config.gridWidth, 5)
        XCTAssertEqual(config.tokens, 21)
        let defaults = SpectrogramTransformerConfig()
        XCTAssertEqual(defaults.gridHeight * defaults.gridWidth, 12 * 19, "ImageBind's 128 x 204 input, 16x16 patches every 10")
        let (store, encoder) = make()
        let names = store.parameters.map(\.name)
        XCTAssertEqual(Array(names.prefix(5)), ["audio.conv1.weight", "audio.class_embedding", "audio.positional_embedding",
                                                "audio.ln_pre.weight", "audio.ln_pre.bias"])
        XCTAssertEqual(store["audio.conv1.weight"]!.shape, [16, 1, 8, 8])
        XCTAssertEqual(store["audio.positional_embedding"]!.shape, [21, 16])
        XCTAssertEqual(Array(names.suffix(3)), ["audio.ln_post.weight", "audio.ln_post.bias", "audio.proj"])
        Tape.shared.reset()
        XCTAssertEqual(encoder.pooledFeatures(spectrograms(3)).shape, [3, 12])
        XCTAssertEqual(encoder.tokenFeatures(spectrograms(2)).shape, [2, 21, 16])
    }

    func testClipFeaturesAreAveragedPerSample() {
        let (store, encoder) = make()
        _ = store
        Tape.shared.reset()
        let clips = spectrograms(4)
        let averaged = encoder.pooledFeatures(clips, clipsPerSample: 2).values
        let single = encoder.pooledFeatures(clips).values
        for sample in 0..<2 {
            for d in 0..<12 {
                XCTAssertEqual(averaged[sample * 12 + d], (single[(2 * sample) * 12 + d] + single[(2 * sample + 1) * 12 + d]) / 2, accuracy: 1e-5)
            }
        }
    }

    /// The patch embedding over overlapping patches, the class token and the positions against central differences.
    func testGradientsOfTheNewPartsMatchFiniteDifferences() {
        let (store, encoder) = make()
        let input = spectrograms(2)
        var generator = SplitMix64(seed: 5)
        let r = Tensor.randomNormal([1, 12], using: &generator)
        let (_, gradients) = outputAndGradients(store: store, inputs: [input], r: r) { encoder.pooledFeatures($0[0], clipsPerSample: 2) }
        func objective() -> Double {
            Tape.shared.reset()
            return zip(encoder.pooledFeatures(input, clipsPerSample: 2).values, r.values).reduce(0) { $0 + Double($1.0 * $1.1) }
        }
        let step: Float = 1e-2
        func check(_ name: String, _ indices: [Int]) {
            let parameter = store[name]!
            let analytic = gradients[1 + store.parameters.firstIndex { $0.name == name }!]!.values
            for i in indices {
                let numeric = centralDifference(parameter.pointer + i, step: step, objective)
                XCTAssertEqual(Double(analytic[i]), numeric, accuracy: 2e-3 + 2e-2 * abs(numeric), "\(name)[\(i)]")
            }
        }
        check("audio.conv1.weight", [0, 9, 63, 64 + 27, 15 * 64 + 40])
        check("audio.class_embedding", [0, 7, 15])
        check("audio.positional_embedding", [0, 16 + 3, 10 * 16 + 8, 20 * 16 + 15])
        // The input's gradient too (overlapping patches add up in col2im).
        let inputGradient = gradients[0]!.values
        for i in [0, 5 * 30 + 5, 24 * 30 + 7 * 30 + 12] {
            let numeric = centralDifference(UnsafeMutablePointer(mutating: input.pointer) + i, step: step, objective)
            XCTAssertEqual(Double(inputGradient[i]), numeric, accuracy: 2e-3 + 2e-2 * abs(numeric), "input[\(i)]")
        }
    }

    func testConfigFromJSON() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spectrogram-config-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func write(_ name: String, _ text: String) -> String {
            let path = directory.appendingPathComponent(name).path
            FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
            return path
        }
        let model = write("audio.json", #"{"embed_dim": 32, "audio_cfg": {"mel_bins": 64, "frames": 100, "patch_stride": 16, "width": 64, "layers": 2, "head_width": 32}}"#)
        let (loaded, embed) = try SpectrogramTransformerConfig.load(path: model)
        XCTAssertEqual(embed, 32)
        XCTAssertEqual([loaded.melBins, loaded.frames, loaded.patchSize, loaded.patchStride, loaded.heads], [64, 100, 16, 16, 2])
        let tower = write("tower.json", #"{"width": 32, "layers": 1, "head_width": 16}"#)
        XCTAssertEqual(try SpectrogramTransformerConfig.load(path: tower).config.width, 32)
        let unknown = write("bad.json", #"{"audio_cfg": {"mel_bin": 64}}"#)
        XCTAssertThrowsError(try SpectrogramTransformerConfig.load(path: unknown)) {
            XCTAssertEqual("\($0)", "\(unknown): unknown key audio_cfg.mel_bin (known: frames, head_width, layers, mel_bins, mlp_ratio, patch_size, patch_stride, width)")
        }
        let heads = write("heads.json", #"{"width": 30, "head_width": 16}"#)
        XCTAssertThrowsError(try SpectrogramTransformerConfig.load(path: heads)) { XCTAssertTrue("\($0)".contains("must divide by head_width")) }
        let big = write("big.json", #"{"mel_bins": 8}"#)
        XCTAssertThrowsError(try SpectrogramTransformerConfig.load(path: big)) { XCTAssertTrue("\($0)".contains("patch_size 16 is larger")) }
    }
}
