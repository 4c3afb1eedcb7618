import CLIP
import Distributed
import Foundation
import Training
import TrainingKit
import XCTest

/// Stages switch at the decided step, frozen parameters stay put (and lose their optimizer state: one that trains again
/// starts as in a fresh AdamW), and recipes parse.
final class StagedTrainingTests: XCTestCase {
    func makeTrainer(_ stages: [Stage], steps: Int) throws -> Trainer {
        var settings = Settings()
        settings.model = FixturePaths.clipTiny + "/config.json"
        settings.datasetType = .random
        settings.batchSize = 8
        settings.maxSteps = steps
        settings.trainNumSamples = 8 * 100
        settings.warmup = 1
        settings.stages = StageList(stages)
        settings.replicaCheckEvery = 1
        settings.seed = 1
        let task = try CLIPFamily.makeTask(settings: settings)
        let data = try task.trainingData(RunContext(settings: settings, runDirectory: NSTemporaryDirectory()))
        return try Trainer(settings: settings, task: task, communicator: LocalCommunicator(), data: data)
    }

    func testThreeStagesSwitchAtTheirStepsAndFreezeWhatTheySay() throws {
        let stages = [
            Stage(name: "lit", train: ["transformer.", "token_embedding", "positional_embedding", "ln_final", "text_projection", "visual.proj", "logit_scale"], steps: 2),
            Stage(name: "heads", train: ["visual.proj", "text_projection", "logit_scale"], steps: 2),
            Stage(name: "full", lr: 1e-4),
        ]
        let trainer = try makeTrainer(stages, steps: 6)
        let store = trainer.task.parameters
        var snapshots: [[Float]] = [Array(store.flatValues)]
        var stageAtStep: [Int: String] = [:]
        trainer.onStep = { record in
            snapshots.append(Array(store.flatValues))
            stageAtStep[record.step] = record.stageName
        }
        let final = try trainer.run()
        XCTAssertEqual(final.step, 6)
        XCTAssertEqual(stageAtStep, [1: "lit", 2: "lit", 3: "heads", 4: "heads", 5: "full", 6: "full"])
        XCTAssertEqual(final.stage.index, 2)
        XCTAssertEqual(final.stage.startStep, 4)
        func changed(_ name: String, from a: Int, to b: Int) -> Bool {
            let p = store[name]!
            return snapshots[a][p.offset..<(p.offset + p.count)] != snapshots[b][p.offset..<(p.offset + p.count)]
        }
        // Stage 1 (steps 1-2): the image tower is locked, the text tower trains.
        XCTAssertFalse(changed("visual.conv1.weight", from: 0, to: 2))
        XCTAssertFalse(changed("visual.transformer.resblocks.0.attn.in_proj_weight", from: 0, to: 2))
        XCTAssertTrue(changed("transformer.resblocks.0.attn.in_proj_weight", from: 0, to: 2))
        XCTAssertTrue(changed("visual.proj", from: 0, to: 2))
        // Stage 2 (steps 3-4): only the heads move.
        XCTAssertFalse(changed("transformer.resblocks.0.attn.in_proj_weight", from: 2, to: 4))
        XCTAssertFalse(changed("visual.conv1.weight", from: 2, to: 4))
        XCTAssertTrue(changed("text_projection", from: 2, to: 4))
        // Stage 3 (steps 5-6): everything trains; the image tower starts its AdamW state, and so does the text tower,
        // whose state stage 2 dropped; the heads, trained throughout, continue theirs.
        XCTAssertTrue(changed("visual.conv1.weight", from: 4, to: 6))
        XCTAssertTrue(changed("transformer.resblocks.0.attn.in_proj_weight", from: 4, to: 6))
        let steps = trainer.engine.optimizerSteps, names = store.parameters.map(\.name)
        XCTAssertEqual(steps[names.firstIndex(of: "visual.conv1.weight")!], 2)
        XCTAssertEqual(steps[names.firstIndex(of: "transformer.resblocks.0.attn.in_proj_weight")!], 2)
        XCTAssertEqual(steps[names.firstIndex(of: "text_projection")!], 6)
    }

    func testStageLearningRateAndPlateau() throws {
        var stages = [Stage(name: "a"), Stage(name: "b")]
        stages[0].plateau = try JSONDecoder().decode(Stage.Plateau.self,
                                                     from: Data(#"{"metric": "clip_val_loss", "patience": 2, "min-delta": 0.01}"#.utf8))
        var controller = StageController(stages: stages)
        controller.observe(metrics: ["clip_val_loss": 3.0])
        XCTAssertFalse(controller.shouldAdvance(step: 10, samples: 100))
        controller.observe(metrics: ["clip_val_loss": 2.995])   // not better by min-delta
        controller.observe(metrics: ["clip_val_loss": 3.1])
        XCTAssertTrue(controller.shouldAdvance(step: 20, samples: 200))
        controller.advance(step: 20, samples: 200)
        XCTAssertEqual(controller.current.name, "b")
        XCTAssertFalse(controller.shouldAdvance(step: 1000, samples: 10_000))  // the last stage runs to the end
    }

    func testShippedRecipesParse() throws {
        var settings = Settings()
        try Families.registry.apply(recipe: FixturePaths.repository + "/cluster-configs/staged-example.yaml", to: &settings)
        XCTAssertEqual(settings.stages.stages.map(\.name), ["lit", "heads", "full"])
        XCTAssertEqual(settings.stages.stages[1].train, ["visual.proj", "text_projection", "logit_scale"])
        XCTAssertEqual(settings.stages.stages[2].lr, 1e-4)
        for recipe in ["quickstart", "clip-tiny", "clip-bench", "vit-b-32-laion"] {
            var s = Settings()
            XCTAssertNoThrow(try Families.registry.apply(recipe: FixturePaths.repository + "/cluster-configs/\(recipe).yaml", to: &s), recipe)
        }
        let path = NSTemporaryDirectory() + "/bad-recipe-\(getpid()).yaml"
        try "batch-size: 8\nbogus-flag: 1\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Families.registry.apply(recipe: path, to: &settings)) {
            XCTAssertEqual("\($0)", "\(path): unknown setting --bogus-flag")
        }
    }
}


/// A checkpoint written while the image tower is locked resumes into a run where it trains: every parameter's
/// AdamW state is in the checkpoint, and the frozen ones start their own updates from there.
final class LockedTowerResumeTests: XCTestCase {
    func testCheckpointFromALockedRunResumesUnlocked() throws {
        let config = try CLIPConfig.load(FixturePaths.clipTiny + "/config.json")
        func trainer(lockImage: Bool, model: CLIPModel) throws -> Trainer {
            var s = Settings()
            s.model = "clip-tiny"; s.datasetType = .random; s.batchSize = 8; s.maxSteps = 4; s.warmup = 1
            s.trainNumSamples = 800; s.lockImage = lockImage; s.saveEverySteps = 2
            let task = CLIPTask(model: model, settings: s)
            let data = try task.trainingData(RunContext(settings: s, runDirectory: NSTemporaryDirectory()))
            return try Trainer(settings: s, task: task, communicator: LocalCommunicator(), data: data)
        }
        // Two locked steps, then a checkpoint.
        let lockedModel = CLIPModel(config: config, seed: 3)
        let locked = try trainer(lockImage: true, model: lockedModel)
        var saved: TrainingState?
        let conv = lockedModel.parameters["visual.conv1.weight"]!
        let convBefore = conv.value.values
        // Stop after two of the four scheduled steps, right after the checkpoint (as a killed run would).
        struct Stop: Error {}
        let dir = NSTemporaryDirectory() + "/locked-resume-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        let checkpoints = try RunCheckpoints(directory: dir, keep: nil)
        locked.saveCheckpoint = { state, _ in
            if state.step == 2 {
                saved = state
                try checkpoints.save(task: locked.task, family: "clip", moments: try locked.engine.gatherOptimizerMoments()!, state: state)
                try checkpoints.finish()
                throw Stop()
            }
        }
        XCTAssertThrowsError(try locked.run())
        XCTAssertEqual(conv.value.values, convBefore, "the locked tower must not move")
        XCTAssertNotNil(saved)

        // Resume into an unlocked run from the checkpoint.
        let resumedModel = CLIPModel(config: config, seed: 99)
        guard let loaded = try RunCheckpoints.load(dir, runCheckpoints: dir, messages: { _ in }) else { return XCTFail("no checkpoint") }
        let restored = try RunCheckpoints.restore(loaded, into: CLIPTask(model: resumedModel, settings: Settings()), family: "clip")
        XCTAssertEqual(resumedModel.parameters["visual.conv1.weight"]!.value.values, convBefore)
        let unlocked = try trainer(lockImage: false, model: resumedModel)
        try unlocked.restore(restored.state)
        try unlocked.engine.restoreOptimizerState(moments: (restored.firstMoment, restored.secondMoment), steps: restored.state.optimizerSteps)
        let final = try unlocked.run()
        XCTAssertEqual(final.step, 4)
        XCTAssertNotEqual(resumedModel.parameters["visual.conv1.weight"]!.value.values, convBefore, "the unlocked tower trains")
        let names = resumedModel.parameters.parameters.map(\.name), steps = unlocked.engine.optimizerSteps
        XCTAssertEqual(steps[names.firstIndex(of: "visual.conv1.weight")!], 2)   // its first two updates
        XCTAssertEqual(steps[names.firstIndex(of: "text_projection")!], 4)       // continued from the checkpoint
    }
}

/// A stage's `settings:` override the run's settings declared `perStage` while it runs: FLIP's final unmasked phase is
/// a stage with `force-patch-dropout: 0`.
final class StageSettingsTests: XCTestCase {
    func makeTrainer(_ stages: [Stage], steps: Int = 4) throws -> Trainer {
        var settings = try Families.settings(arguments: ["--model", FixturePaths.clipTiny + "/config.json", "--dataset-type", "random",
                                                         "--batch-size", "8", "--max-steps", "\(steps)", "--train-num-samples", "800",
                                                         "--warmup", "1", "--force-patch-dropout", "0.5"])
        settings.stages = StageList(stages)
        let task = try CLIPFamily.makeTask(settings: settings)
        let data = try task.trainingData(RunContext(settings: settings, runDirectory: NSTemporaryDirectory()))
        return try Trainer(settings: settings, task: task, communicator: LocalCommunicator(), data: data)
    }

    func testFinalUnmaskedStageSwitchesPatchDropoutOffAndResumesThere() throws {
        let stages = [Stage(name: "flip", steps: 2), Stage(name: "unmasked", settings: ["force-patch-dropout": "0"])]
        let trainer = try makeTrainer(stages)
        let model = try XCTUnwrap(trainer.task as? CLIPTask).model
        var probabilityAtStep: [Int: Double] = [:]
        // onStep runs after the step, before the stage decision: it sees the probability the step trained with.
        trainer.onStep = { record in probabilityAtStep[record.step] = model.patchDropout.probability }
        let final = try trainer.run()
        XCTAssertEqual(probabilityAtStep, [1: 0.5, 2: 0.5, 3: 0, 4: 0])

        // A run resumed inside the unmasked stage trains unmasked from its first step.
        let resumed = try makeTrainer(stages)
        let resumedModel = try XCTUnwrap(resumed.task as? CLIPTask).model
        XCTAssertEqual(resumedModel.patchDropout.probability, 0.5)
        var saved = TrainingState()
        saved.step = 3
        saved.samplesSeen = 24
        saved.stage = final.stage
        try resumed.restore(saved)
        XCTAssertEqual(resumedModel.patchDropout.probability, 0)
    }

    func testStageSettingsParseFromRecipesAndRefuseWhatCannotChange() throws {
        let parsed = try StageList.parseExplaining(#"[{"name": "a", "steps": 2, "settings": {"force-patch-dropout": 0.25}}, {"settings": {"force-patch-dropout": 0}}]"#)
        XCTAssertEqual(parsed.stages.map(\.settings), [["force-patch-dropout": "0.25"], ["force-patch-dropout": "0"]])
        let reparsed = try StageList.parseExplaining(try XCTUnwrap(parsed.settingText))
        XCTAssertEqual(reparsed, parsed, "the resolved recipe reads back the same stages")

        let cases: [([String: String], String)] = [
            (["lr": "0.1"], "stage s: --lr cannot change between stages (a stage may set: --force-patch-dropout)"),
            (["force-patch-dropout": "1.5"], "stage s: --force-patch-dropout must be at least 0 and below 1, got 1.5"),
            (["force-patch-dropout": "half"], "stage s: --force-patch-dropout: 'half' is not"),
            (["patch-dropout": "0"], "stage s: unknown setting 'patch-dropout'"),
        ]
        for (overrides, message) in cases {
            XCTAssertThrowsError(try makeTrainer([Stage(name: "s", steps: 1, settings: overrides), Stage(name: "rest")])) { error in
                XCTAssertTrue("\(error)".contains(message), "\(error)")
            }
        }
        var fusion = try Families.settings(arguments: ["--task", "fusion"])
        fusion.stages = StageList([Stage(name: "s", settings: ["force-patch-dropout": "0"])])
        XCTAssertThrowsError(try Families.registry.settings(fusion, in: fusion.stages.stages[0])) { error in
            XCTAssertTrue("\(error)".contains("stage s: --force-patch-dropout is not a setting of --task fusion"), "\(error)")
        }
    }
}
