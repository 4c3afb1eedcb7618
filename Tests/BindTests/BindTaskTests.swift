import Bind
import Checkpoint
import Distributed
import Foundation
import NN
import TensorCore
import Training
import TrainingKit
import XCTest

/// The binding family: reading the CLIP's recorded config, what trains and what stays frozen through the unchanged
/// engine.
final class BindTaskTests: XCTestCase {
    /// A CLIP config as a CLIP checkpoint records it (OpenCLIP's keys).
    static let clipConfig: JSONValue = .object([
        "embed_dim": .integer(8), "quick_gelu": .bool(false), "init_logit_scale": .double(2.6592600),
        "vision_cfg": .object(["image_size": .integer(16), "patch_size": .integer(8), "width": .integer(16), "layers": .integer(1),
                               "head_width": .integer(8), "mlp_ratio": .double(2)]),
        "text_cfg": .object(["context_length": .integer(8), "vocab_size": .integer(50), "width": .integer(16), "heads": .integer(2),
                             "layers": .integer(1), "mlp_ratio": .double(2)]),
    ])

    static var audioConfig: SpectrogramTransformerConfig {
        var config = SpectrogramTransformerConfig()
        (config.melBins, config.frames, config.patchSize, config.patchStride) = (16, 24, 8, 8)
        (config.width, config.layers, config.headWidth, config.mlpRatio) = (16, 1, 8, 2)
        return config
    }

    static func config() throws -> BindModelConfig {
        try BindModelConfig.bound(to: clipConfig, source: "test", modality: .audio, audio: audioConfig)
    }

    func testBoundConfigReadsTheCLIPsRecordedConfig() throws {
        let config = try Self.config()
        XCTAssertEqual(config.embedDim, 8)
        XCTAssertEqual(config.vision.imageSize, 16)
        XCTAssertEqual(config.vision.mlpRatio, 2)
        XCTAssertEqual(config.text.vocabSize, 50)
        XCTAssertEqual(config.text.contextLength, 8)
        XCTAssertEqual(config.audio, Self.audioConfig)
        // The record round-trips through a checkpoint header's JSON.
        XCTAssertEqual(try JSONValue(encoding: config).decode(as: BindModelConfig.self), config)
        XCTAssertThrowsError(try BindModelConfig.bound(to: .object(["embed_dim": .integer(8)]), source: "x.sclip", modality: .audio,
                                                       audio: Self.audioConfig)) { error in
            XCTAssert("\(error)".contains("x.sclip"), "\(error)")
        }
        XCTAssertThrowsError(try BindModelConfig.bound(to: .object(["embed_dim": .string("wide"), "vision_cfg": .object([:]), "text_cfg": .object([:])]),
                                                       source: "x.sclip", modality: .audio, audio: Self.audioConfig))
    }

    func testTheModelKeepsOpenCLIPKeysAndAddsTheAudioTower() throws {
        let model = BindModel(config: try Self.config())
        let names = model.parameters.parameters.map(\.name)
        XCTAssert(names.contains("visual.conv1.weight"))
        XCTAssert(names.contains("token_embedding.weight"))
        XCTAssert(names.contains("text_projection"))
        XCTAssert(names.contains("logit_scale"))
        XCTAssert(names.contains("audio.conv1.weight"))
        XCTAssert(names.contains("audio.proj"))
        XCTAssert(names.contains("audio_logit_scale"))
    }

    /// Image-audio pairs where the audio is a function of the image's class, so the loss can fall.
    final class PairedData: TrainingDataSource {
        let batch: Int, audio: SpectrogramTransformerConfig
        var index = 0
        init(batch: Int, audio: SpectrogramTransformerConfig) { (self.batch, self.audio) = (batch, audio) }
        var samplesPerEpoch: Int { batch * 1000 }
        func seek(samplesSeen: Int) { index = samplesSeen / batch }
        func next() -> TaskBatch {
            defer { index += 1 }
            var generator = SplitMix64(seed: UInt64(index) &+ 17)
            var images = Tensor.randomNormal([batch, 3, 16, 16], using: &generator).values
            var sounds = Tensor.randomNormal([batch, 1, audio.melBins, audio.frames], using: &generator).values
            let imageValues = images.count / batch, audioValues = sounds.count / batch
            for sample in 0..<batch {
                let label = Float(Int(generator.next() % 4))
                for i in 0..<imageValues { images[sample * imageValues + i] += 2 * label }
                for i in 0..<audioValues { sounds[sample * audioValues + i] += 2 * label }
            }
            let tensors = ["image": Tensor(shape: [batch, 3, 16, 16], values: images),
                           "audio": Tensor(shape: [batch, 1, audio.melBins, audio.frames], values: sounds)]
            return TaskBatch(count: batch, tensors: tensors)
        }
    }

    func train(steps: Int, configure: (inout Settings) -> Void) throws -> (before: [String: [Float]], after: [String: [Float]], losses: [Double]) {
        var settings = Settings()
        settings.task = "bind"
        settings.batchSize = 16
        settings.maxSteps = steps
        settings.lr = 2e-3
        settings.warmup = 0
        settings.lrScheduler = .const
        configure(&settings)
        let model = BindModel(config: try Self.config(), seed: 3, initialScale: settings.bindLogitScale)
        let task = BindTask(model: model, settings: settings)
        func snapshot() -> [String: [Float]] {
            Dictionary(uniqueKeysWithValues: model.parameters.parameters.map { ($0.name, Array(UnsafeBufferPointer(start: $0.pointer, count: $0.count))) })
        }
        let before = snapshot()
        let trainer = try Trainer(settings: settings, task: task, communicator: LocalCommunicator(),
                                  data: PairedData(batch: 16, audio: Self.audioConfig))
        var losses: [Double] = []
        trainer.onStep = { losses.append($0.loss) }
        try trainer.run()
        return (before, snapshot(), losses)
    }

    func testBindingTrainsTheAudioTowerOnlyAtAFixedTemperature() throws {
        let (before, after, losses) = try train(steps: 30) { settings in
            settings.bindLogitScale = 20
            settings.bindFixedLogitScale = true
        }
        for (name, values) in before where !name.hasPrefix("audio.") {
            XCTAssertEqual(values, after[name]!, "\(name) is frozen")
        }
        XCTAssertEqual(Foundation.exp(Double(after["audio_logit_scale"]![0])), 20, accuracy: 1e-4)
        XCTAssertNotEqual(before["audio.proj"]!, after["audio.proj"]!)
        XCTAssertNotEqual(before["audio.conv1.weight"]!, after["audio.conv1.weight"]!)
        let first = losses.prefix(5).reduce(0, +) / 5, last = losses.suffix(5).reduce(0, +) / 5
        XCTAssertLessThan(last, first, "loss \(first) -> \(last)")
    }

    func testTrainImageAndLearnedTemperatureTrainThemToo() throws {
        let (before, after, _) = try train(steps: 3) { settings in settings.bindTrainImage = true }
        XCTAssertNotEqual(before["visual.conv1.weight"]!, after["visual.conv1.weight"]!)
        XCTAssertNotEqual(before["audio_logit_scale"]!, after["audio_logit_scale"]!)
        for name in ["token_embedding.weight", "text_projection", "logit_scale"] { XCTAssertEqual(before[name]!, after[name]!, name) }
    }
}
