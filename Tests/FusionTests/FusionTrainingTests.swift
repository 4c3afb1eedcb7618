import Distributed
import Foundation
import Fusion
import NN
import TensorCore
import Training
import TrainingKit
import XCTest

final class FusionTrainingTests: XCTestCase {
    func settings(steps: Int, lr: Double = 0.01) -> Settings {
        var settings = Settings()
        settings.batchSize = 32
        settings.maxSteps = steps
        settings.lr = lr
        settings.wd = 0
        settings.warmup = 0
        settings.lrScheduler = .const
        return settings
    }

    func train(_ task: FusionTask, _ settings: Settings, onStep: ((StepRecord) throws -> Void)? = nil) throws {
        let trainer = try Trainer(settings: settings, task: task, communicator: LocalCommunicator(), data: ColourWordXOR(batch: settings.batchSize))
        trainer.onStep = onStep
        try trainer.run()
    }

    func accuracy(_ task: FusionTask) -> Double {
        let batch = ColourWordXOR(batch: 256, seed: 77).next()
        let logits = withoutGradients { task.logits(batch, presence: .all(samples: 256, modalities: task.model.config.modalities.count)).values }
        return ClassificationMetrics(logits: logits, labels: batch.rows("label").map(Int.init), classes: 2).accuracy
    }

    /// Stage 1 trains everything, stage 2 freezes both encoders: after stage 2's steps the encoders are bit-identical to
    /// where stage 1 left them, and the head moved.
    func testStageTwoLeavesFrozenEncodersBitIdentical() throws {
        var s = settings(steps: 4)
        s.stages = StageList([Stage(name: "all", steps: 2), Stage(name: "fusion", freeze: ["visual.", "text."], steps: 2)])
        let task = TinyFusion.task(.gated, classes: 2)
        let encoders = task.parameters.parameters.filter { $0.name.hasPrefix("visual.") || $0.name.hasPrefix("text.") }
        let head = task.parameters.parameters.filter { $0.name.hasPrefix("gated.") }
        func values(_ ps: [Parameter]) -> [[Float]] { ps.map { Array($0.value.values) } }
        var afterStageOne: ([[Float]], [[Float]])?
        let initial = values(encoders)
        try train(task, s) { record in
            if record.step == 2 { afterStageOne = (values(encoders), values(head)) }
        }
        guard let (encodersThen, headThen) = afterStageOne else { return XCTFail("no step 2") }
        XCTAssertNotEqual(encodersThen, initial, "stage 1 should train the encoders")
        XCTAssertEqual(values(encoders), encodersThen)
        XCTAssertNotEqual(values(head), headThen)
    }

    /// Colour XOR word: each modality alone is at chance, gated and early fusion of both learn the class (late fusion,
    /// a sum of one logit vector per modality, cannot express XOR).
    func testFusionBeatsEitherModalityAlone() throws {
        var fused: [Double] = []
        for kind in [FusionKind.gated, .early, .earlyCrossAttention] {
            let task = TinyFusion.task(kind, classes: 2)
            try train(task, settings(steps: 300))
            fused.append(accuracy(task))
        }
        var unimodal: [Double] = []
        for modalities in [[FusionModality.image], [.text], [.image, .text]] {
            let task = TinyFusion.task(.late, modalities: modalities, classes: 2)
            try train(task, settings(steps: 300))
            unimodal.append(accuracy(task))
        }
        for (kind, value) in zip(["gated", "early", "early-xattn"], fused) { XCTAssertGreaterThan(value, 0.9, "\(kind) fusion") }
        for (model, value) in zip(["image alone", "text alone", "late fusion"], unimodal) { XCTAssertLessThan(value, 0.65, model) }
    }

    /// Multi-label: classes "red", "word 1" and "red XOR word 1" as each sample's set (padded with -1 like the loader's
    /// rows); gated fusion learns all three under sigmoid BCE, late fusion (a sum of per-modality logits) not the third.
    func testMultiLabelTrainingLearnsEveryClass() throws {
        func sets(_ batch: TaskBatch) -> TaskBatch {
            var out = batch
            let pixels = batch.tensor("image").values, tokens = batch.rows("text"), xor = batch.rows("label")
            out.integers["labels"] = (0..<batch.count).flatMap { b -> [Int32] in
                let red = pixels[b * 192] > 0, word = tokens[b * 4] == 1
                return [red ? 0 : -1, word ? 1 : -1, xor[b] == 1 ? 2 : -1]
            }
            return out
        }
        final class MultiLabelXOR: TrainingDataSource {
            let base: ColourWordXOR, convert: (TaskBatch) -> TaskBatch
            init(_ base: ColourWordXOR, _ convert: @escaping (TaskBatch) -> TaskBatch) { self.base = base; self.convert = convert }
            var samplesPerEpoch: Int { base.samplesPerEpoch }
            func seek(samplesSeen: Int) { base.seek(samplesSeen: samplesSeen) }
            func next() -> TaskBatch { convert(base.next()) }
        }
        var found: [FusionKind: MultiLabelMetrics] = [:]
        for kind in [FusionKind.gated, .late] {
            let task = TinyFusion.task(kind, classes: 3, multiLabel: true)
            let s = settings(steps: 300)
            let trainer = try Trainer(settings: s, task: task, communicator: LocalCommunicator(),
                                      data: MultiLabelXOR(ColourWordXOR(batch: s.batchSize), sets))
            try trainer.run()
            let batch = sets(ColourWordXOR(batch: 256, seed: 77).next())
            let logits = withoutGradients { task.logits(batch, presence: .all(samples: 256, modalities: 2)).values }
            found[kind] = MultiLabelMetrics(logits: logits, targets: MultiLabelLoss.multiHot(batch.rows("labels"), samples: 256, classes: 3),
                                            classes: 3)
        }
        let gated = try XCTUnwrap(found[.gated]), late = try XCTUnwrap(found[.late])
        XCTAssertGreaterThan(gated.macroAP, 0.98)
        XCTAssertGreaterThan(gated.macroF1, 0.95)
        XCTAssertGreaterThan(late.averagePrecisions[0]!, 0.98)
        XCTAssertGreaterThan(late.averagePrecisions[1]!, 0.98)
        XCTAssertLessThan(late.averagePrecisions[2]!, 0.7)
    }
}
