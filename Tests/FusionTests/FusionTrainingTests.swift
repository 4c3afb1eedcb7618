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
        for kind in [FusionKind.gated, .early] {
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
        for (kind, value) in zip(["gated", "early"], fused) { XCTAssertGreaterThan(value, 0.9, "\(kind) fusion") }
        for (model, value) in zip(["image alone", "text alone", "late fusion"], unimodal) { XCTAssertLessThan(value, 0.65, model) }
    }
}
