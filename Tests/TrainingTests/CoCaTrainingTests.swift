import Checkpoint
import CoCa
import Distributed
import Foundation
import NN
import Optim
import TensorCore
import Training
import TrainingKit
import XCTest

/// CoCa through the unchanged engine: the AdamW step from OpenCLIP's gradients, recomputation, a locked image tower,
/// a pure captioner and a short run of `--task coca`.
final class CoCaTrainingTests: XCTestCase {
    func makeEngine(settings: Settings = Settings()) throws -> (StepEngine, TaskBatch) {
        let parity = try CoCaParity(fixture: FixturePaths.cocaTiny)
        let engine = try StepEngine(task: CoCaTask(model: try parity.makeModel(), settings: settings), communicator: LocalCommunicator(),
                                    hyperparameters: AdamW.Hyperparameters(beta1: 0.9, beta2: 0.98, epsilon: 1e-6, weightDecay: 0.2))
        let stored = try Safetensors.read(FixturePaths.cocaTiny + "/batch.safetensors").tensors
        let batch = TaskBatch(count: 8, tensors: ["image": stored["images"]!.tensor], integers: ["text": stored["tokens"]!.integers.map { Int32($0) }])
        return (engine, batch)
    }

    /// One engine step from the fixture's weights lands on OpenCLIP's `adamw_step` (the key part of in_proj_bias, whose
    /// true gradient is zero, to the learning rate).
    func testOneStepMatchesOpenCLIPAdamWStep() throws {
        let (engine, batch) = try makeEngine()
        let outcome = try engine.step(batch, trainable: [Bool](repeating: true, count: engine.task.parameters.parameters.count), learningRate: 1e-3)
        XCTAssertTrue(outcome.applied)
        XCTAssertEqual(outcome.loss, 20.1797962, accuracy: 1e-4)  // fixture total_loss
        let after = try Safetensors.read(FixturePaths.cocaTiny + "/adamw_step.safetensors").tensors
        for p in engine.task.parameters.parameters {
            let ours = p.value.values, reference = after[p.name]!.floats
            var worst: Float = 0
            for (j, (a, b)) in zip(ours, reference).enumerated() {
                let keyBias = p.name.hasSuffix("in_proj_bias") && j >= p.count / 3 && j < 2 * p.count / 3
                worst = max(worst, abs(a - b) / (keyBias ? 10 : 1))
            }
            XCTAssertLessThanOrEqual(worst, 1e-4, p.name)
        }
    }

    /// The training forward skips the decoder's MLPs on the padding after each caption: the caption loss and every
    /// gradient are the full forward's (the fixture's captions have padding).
    func testCaptionLossForwardSkippingPaddingGivesTheSameGradients() throws {
        let model = try CoCaParity(fixture: FixturePaths.cocaTiny).makeModel()
        let stored = try Safetensors.read(FixturePaths.cocaTiny + "/batch.safetensors").tensors
        let images = stored["images"]!.tensor, tokens = stored["tokens"]!.integers.map { Int32($0) }
        let positions = model.config.text.contextLength - 1, lengths = model.captionPrefixLengths(tokens)
        XCTAssertTrue(lengths.contains { $0 < positions } && lengths.allSatisfy { $0 > 0 }, "\(lengths)")
        func lossAndGradients(forCaptionLoss: Bool) -> (loss: Float, gradients: [[Float]]) {
            model.parameters.track()
            defer { model.parameters.untrack() }
            let loss = model.captionLoss(model.forward(images: images, tokens: tokens, forCaptionLoss: forCaptionLoss), tokens: tokens)!.loss
            let gradients = loss.backward()
            return (loss.scalar, model.parameters.parameters.map { (gradients[$0.leaf!] ?? .zeros($0.shape)).values })
        }
        let full = lossAndGradients(forCaptionLoss: false), skipping = lossAndGradients(forCaptionLoss: true)
        XCTAssertEqual(skipping.loss, full.loss, accuracy: 1e-6 * abs(full.loss))
        for (p, (a, b)) in zip(model.parameters.parameters, zip(full.gradients, skipping.gradients)) {
            let scale = max(a.map { abs($0) }.max()!, 1e-12)
            XCTAssertLessThanOrEqual(zip(a, b).map { abs($0 - $1) }.max()!, 1e-5 * scale, p.name)
        }
        let mlp = model.parameters.parameters.first { $0.name == "text_decoder.resblocks.0.mlp.c_fc.weight" }!
        XCTAssertGreaterThan(skipping.gradients[model.parameters.parameters.firstIndex { $0 === mlp }!].map { abs($0) }.max()!, 0)
    }

    /// Recomputing blocks (the towers' and the decoder's, self- and cross-attention) gives the same gradients.
    func testGradientCheckpointingGivesTheSameGradients() throws {
        let (plain, batch) = try makeEngine()
        let trainable = [Bool](repeating: true, count: plain.task.parameters.parameters.count)
        _ = try plain.step(batch, trainable: trainable, learningRate: 0)
        for (blocks, mlpBlocks) in [(Int.max, 0), (1, Int.max)] {
            let (checkpointed, _) = try makeEngine()
            checkpointed.task.setRecomputation(blocks: blocks, mlpBlocks: mlpBlocks)
            _ = try checkpointed.step(batch, trainable: trainable, learningRate: 0)
            for p in plain.task.parameters.parameters {
                let a = Array(plain.gradients[p.offset..<(p.offset + p.count)]), b = Array(checkpointed.gradients[p.offset..<(p.offset + p.count)])
                let scale = max(a.map { abs($0) }.max()!, 1e-12)
                XCTAssertLessThanOrEqual(zip(a, b).map { abs($0 - $1) }.max()!, 1e-5 * scale, "\(p.name), \(blocks) blocks, \(mlpBlocks) MLP blocks")
            }
        }
    }

    /// GradCache with two micro-batches of four on one rank weighs the caption loss exactly as two ranks of four do
    /// (each part's token mean, averaged), with the contrastive loss over the whole batch: OpenCLIP's dist2 gradients.
    func testTwoMicroBatchesGiveTheTwoRankGradients() throws {
        let (engine, batch) = try makeEngine()
        engine.accumulation = 2
        _ = try engine.step(batch, trainable: [Bool](repeating: true, count: engine.task.parameters.parameters.count), learningRate: 0)
        let reference = try Safetensors.read(FixturePaths.cocaTiny + "/dist2.safetensors").tensors
        for p in engine.task.parameters.parameters {
            let ours = Array(engine.gradients[p.offset..<(p.offset + p.count)]), expected = reference["grad." + p.name]!.floats
            let scale = expected.map { abs($0) }.max()!
            XCTAssertLessThanOrEqual(zip(ours, expected).map { abs($0 - $1) }.max()!, 1e-3 * scale + 1e-6, p.name)
        }
    }

    /// Contrastive weight 0 is a pure captioner: no global outputs (so no gather), only the weighted caption loss.
    func testZeroContrastiveWeightReturnsNoGlobalOutputs() throws {
        var settings = Settings()
        settings.cocaContrastiveLossWeight = 0
        settings.cocaCaptionLossWeight = 1
        let (engine, batch) = try makeEngine(settings: settings)
        let outputs = withoutGradients { engine.task.forward(batch) }
        XCTAssertTrue(outputs.global.isEmpty)
        XCTAssertEqual(outputs.local!.scalar, 7.6055322, accuracy: 1e-4)  // fixture caption_loss
        XCTAssertEqual(withoutGradients { try! makeEngine().0.task.forward(batch) }.global.count, 2)
    }

    /// `--force-patch-dropout` (declared for both image-tower families) drops CoCa's image patches in the engine's
    /// training forward only: p = 0 is the plain forward bit for bit, p = 0.5 changes the loss but not evaluation, and a
    /// stage's `settings:` switches it off.
    func testPatchDropoutAppliesToTheTrainingForwardOnly() throws {
        let (plain, batch) = try makeEngine()
        var settings = try Families.settings(arguments: ["--task", "coca", "--force-patch-dropout", "0.5", "--seed", "3"])
        let (dropping, _) = try makeEngine(settings: settings)
        let model = try XCTUnwrap(dropping.task as? CoCaTask).model
        XCTAssertEqual(model.patchDropout, PatchDropout(probability: 0.5, seed: 3))
        let images = batch.tensor("image"), tokens = batch.rows("text")
        let plainLoss = withoutGradients { plain.task.forward(batch).local!.scalar }
        let droppedLoss = withoutGradients { dropping.task.forward(batch).local!.scalar }
        XCTAssertNotEqual(plainLoss, droppedLoss)
        let evaluated = withoutGradients { model.forward(images: images, tokens: tokens).decoderFeatures.values }
        let plainModel = try XCTUnwrap(plain.task as? CoCaTask).model
        XCTAssertEqual(evaluated, withoutGradients { plainModel.forward(images: images, tokens: tokens).decoderFeatures.values })
        XCTAssertEqual(withoutGradients { plainModel.forward(images: images, tokens: tokens, training: true).decoderFeatures.values }, evaluated,
                       "p = 0: the training forward is the plain one")
        // A stage that sets it to 0 gives the plain training loss back.
        settings.forcePatchDropout = 0.5
        dropping.task.applyStageSettings(try Families.registry.settings(settings, in: Stage(name: "unmasked", settings: ["force-patch-dropout": "0"])))
        XCTAssertEqual(model.patchDropout.probability, 0)
        XCTAssertEqual(withoutGradients { dropping.task.forward(batch).local!.scalar }, plainLoss)
    }

    /// The recorded model config reads back equal from JSON (a checkpoint header) and rebuilds the same model.
    func testModelConfigSurvivesACheckpointHeader() throws {
        let settings = try Families.settings(arguments: ["--task", "coca", "--model", "coca-small"])
        let task = try CoCaFamily.makeTask(settings: settings)
        let reread = try JSONDecoder().decode(JSONValue.self, from: try JSONEncoder().encode(task.modelConfig))
        XCTAssertEqual(reread, task.modelConfig)
        let rebuilt = try CoCaFamily.makeTask(modelConfig: reread, settings: settings)
        XCTAssertEqual(rebuilt.parameters.parameters.map(\.name), task.parameters.parameters.map(\.name))
        XCTAssertEqual(rebuilt.parameters.parameters.map(\.shape), task.parameters.parameters.map(\.shape))
    }

    /// `swiftclip train --task coca --lock-image` on random data: the image tower stays, the decoder moves.
    func testLockedImageTowerTrainsTheRestThroughTheEngine() throws {
        let settings = try Families.settings(arguments: ["--task", "coca", "--model", FixturePaths.cocaTiny + "/config.json", "--lock-image",
                                                         "--dataset-type", "random", "--batch-size", "4", "--max-steps", "2",
                                                         "--warmup", "1", "--train-num-samples", "400", "--coca-caption-loss-weight", "1.5"])
        let task = try CoCaFamily.makeTask(settings: settings)
        let data = try task.trainingData(RunContext(settings: settings, runDirectory: NSTemporaryDirectory()))
        let trainer = try Trainer(settings: settings, task: task, communicator: LocalCommunicator(), data: data)
        let store = task.parameters
        let before = Dictionary(uniqueKeysWithValues: store.parameters.map { ($0.name, $0.value.values) })
        XCTAssertEqual(try trainer.run().step, 2)
        for p in store.parameters {
            if p.name.hasPrefix("visual.") {
                XCTAssertEqual(p.value.values, before[p.name], "\(p.name) is frozen")
            } else if p.name.hasPrefix("text_decoder.") {
                XCTAssertNotEqual(p.value.values, before[p.name], "\(p.name) trains")
            }
        }
        XCTAssertThrowsError(try Families.settings(arguments: ["--task", "coca", "--siglip"]))
        XCTAssertThrowsError(try CoCaFamily.makeTask(settings: try Families.settings(arguments: ["--task", "coca", "--model", "clip-tiny"]))) {
            XCTAssertTrue("\($0)".contains("not a CoCa config"), "\($0)")
        }
    }
}
