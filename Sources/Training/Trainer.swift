import Distributed
import Foundation
import NN
import Optim
import TensorCore
import TrainingKit

/// One logged training step (rank 0).
public struct StepRecord: Sendable {
    public var step: Int, totalSteps: Int, epoch: Int, samplesSeen: Int
    public var stage: Int, stageName: String
    public var loss: Double, gradientNorm: Double, learningRate: Float
    /// The family's own per-step values (e.g. `logit_scale`).
    public var taskMetrics: [String: Double]
    public var stepSeconds: Double, dataWaitSeconds: Double, communicationWaitSeconds: Double
    public var samplesPerSecond: Double
    public var applied: Bool
    /// Samples skipped by every rank's loader (an image missing or not decodable) since this process started training.
    public var skippedSamples = 0
}

/// The training loop of any model family: steps, stages decided on rank 0 and broadcast, evaluation, checkpoints, logging.
///
/// Collaborators are passed in so the loop runs the same with MPI or alone, on any data source, and
/// with checkpoint/evaluation/logging wired by the caller.
public final class Trainer {
    public let settings: Settings
    public let task: TrainingTask
    public let communicator: Communicator
    public let data: TrainingDataSource
    public let engine: StepEngine
    public private(set) var state = TrainingState()
    /// Samples every rank's loader skipped (and replaced) since `run()` started.
    public private(set) var skippedSamples = 0
    public private(set) var controller: StageController
    /// The run's settings with each stage's `settings:` applied, by stage index.
    let stageSettings: [Settings]

    /// Called on rank 0 after each step.
    public var onStep: ((StepRecord) throws -> Void)?
    /// Runs evaluation (rank 0) of the parts due (nil: all) and returns the metrics.
    public var evaluate: ((_ due: Set<String>?) throws -> [String: Double])?
    /// Evaluation parts that follow an epoch frequency, by part name.
    public var evaluationFrequencies: [String: Int] = [:]
    /// Called on rank 0 with evaluation results.
    public var onEvaluation: (([String: Double], TrainingState) throws -> Void)?
    /// Saves a checkpoint (called on every rank; rank 0 writes). `final` marks the end of the run.
    public var saveCheckpoint: ((TrainingState, _ final: Bool) throws -> Void)?
    /// Called on rank 0 with one-line messages: stage changes, skipped steps, resume notes.
    public var onMessage: ((String) throws -> Void)?

    public var globalBatch: Int { settings.batchSize * communicator.size }
    public var stepsPerEpoch: Int { max(data.samplesPerEpoch / globalBatch, 1) }
    public var totalSteps: Int {
        let full = stepsPerEpoch * settings.epochs
        return settings.maxSteps.map { min($0, full) } ?? full
    }

    public init(settings: Settings, task: TrainingTask, communicator: Communicator, data: TrainingDataSource) throws {
        try EngineValidation.check(settings)
        self.settings = settings
        self.task = task
        self.communicator = communicator
        self.data = data
        let hyper = AdamW.Hyperparameters(beta1: Float(settings.beta1), beta2: Float(settings.beta2),
                                          epsilon: Float(settings.eps), weightDecay: Float(settings.wd))
        controller = StageController(stages: settings.stages.stages)
        stageSettings = try controller.stages.map { try Families.registry.settings(settings, in: $0) }
        task.applyStageSettings(stageSettings[0])
        engine = try StepEngine(task: task, communicator: communicator, hyperparameters: hyper,
                                trainable: Self.trainableMask(task: task, stage: controller.current),
                                bucketBytes: Int(settings.bucketMb * 1_048_576), deterministic: settings.deterministic,
                                shardOptimizer: settings.zero == 1, gradientWire: settings.gradCommDtype,
                                overlapCommunication: settings.overlapComm)
        engine.gradientClipNorm = settings.gradClipNorm
        engine.accumulation = settings.accumFreq
        engine.activationPrecision = settings.activationDtype
        task.setRecomputation(blocks: settings.checkpointedBlocksPerTower, mlpBlocks: settings.recomputeMlpBlocks ?? 0)
        state.seed = settings.seed
        state.hyperparameters = hyper
        state.worldSize = communicator.size
        state.globalBatch = globalBatch
        state.settings = settings.recorded
        state.optimizerSteps = engine.optimizerSteps
    }

    /// Continues from a checkpoint's state (parameters already restored by the caller, the optimizer state after this,
    /// once the engine holds the saved stage's trainable parameters).
    public func restore(_ saved: TrainingState) throws {
        if saved.globalBatch != 0 && saved.globalBatch != globalBatch {
            try onMessage?("resuming with global batch \(globalBatch) (was \(saved.globalBatch) = \(saved.worldSize) ranks × \(saved.globalBatch / max(saved.worldSize, 1))); the data order continues from sample \(saved.samplesSeen)")
        }
        state.step = saved.step
        state.epoch = saved.epoch
        state.samplesSeen = saved.samplesSeen
        state.stage = saved.stage
        state.consecutiveNonFinite = saved.consecutiveNonFinite
        controller.apply(saved.stage)
        task.applyStageSettings(stageSettings[controller.state.index])
        try engine.setTrainable(trainableMask())
    }

    /// Which parameters train in the current stage and under the family's own freezing settings (e.g. `--lock-image`).
    public func trainableMask() -> [Bool] { Self.trainableMask(task: task, stage: controller.current) }

    static func trainableMask(task: TrainingTask, stage: Stage) -> [Bool] {
        let frozen = task.frozenPrefixes
        return task.parameters.parameters.map { p in stage.trains(p.name) && !frozen.contains { p.name.hasPrefix($0) } }
    }

    /// The learning rate of `step` under the current stage's schedule.
    public func learningRate(at step: Int) -> Float {
        let stage = controller.current, stageState = controller.state
        let kind = stage.schedule ?? settings.lrScheduler
        let warmup = stage.warmup ?? (stageState.index == 0 ? settings.warmup : 0)
        let stageSteps = stage.steps ?? max(totalSteps - stageState.startStep, 1)
        var schedule = LearningRateSchedule(kind: kind, baseLR: Float(stage.lr ?? settings.lr), warmupSteps: warmup, totalSteps: stageSteps)
        schedule.cooldownSteps = stageSteps / 10
        return schedule.learningRate(at: step - stageState.startStep)
    }

    /// Broadcasts rank 0's parameters and verifies that every rank holds the same replica.
    public func synchronizeReplicas() throws {
        try communicator.broadcast(task.parameters.flatValues, root: 0)
        try verifyReplicas()
    }

    public func verifyReplicas() throws {
        let result = try ReplicaCheck.run(parameters: UnsafeBufferPointer(task.parameters.flatValues), communicator: communicator)
        if !result.isConsistent {
            throw TrainingError("replicas diverged at step \(state.step): ranks \(result.divergentRanks.map(String.init).joined(separator: ", ")) differ from rank 0 (parameter checksum); refusing to continue")
        }
    }

    /// Trains until the last step; returns the final state.
    @discardableResult
    public func run() throws -> TrainingState {
        try synchronizeReplicas()
        try data.seek(samplesSeen: state.samplesSeen)
        while state.step < totalSteps {
            let stepStart = DispatchTime.now().uptimeNanoseconds
            let batch = try data.next()
            let lr = learningRate(at: state.step)
            let outcome = try engine.step(batch, trainable: trainableMask(), learningRate: lr)
            state.step += 1
            state.samplesSeen += globalBatch
            state.epoch = state.samplesSeen / (stepsPerEpoch * globalBatch)
            state.optimizerSteps = engine.optimizerSteps
            skippedSamples += outcome.skippedSamples
            if outcome.applied {
                state.consecutiveNonFinite = 0
            } else {
                state.consecutiveNonFinite += 1
                try onMessage?("step \(state.step): non-finite loss or gradient (loss \(outcome.loss), grad norm \(outcome.gradientNorm)); update skipped (\(state.consecutiveNonFinite) in a row)")
                if state.consecutiveNonFinite >= settings.maxNonFiniteSteps {
                    throw TrainingError("stopping at step \(state.step): \(state.consecutiveNonFinite) consecutive non-finite steps; the last good checkpoint is intact (lower --lr or add --grad-clip-norm)")
                }
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - stepStart) / 1e9
            if communicator.rank == 0 {
                try onStep?(StepRecord(step: state.step, totalSteps: totalSteps, epoch: state.epoch, samplesSeen: state.samplesSeen,
                                   stage: controller.state.index, stageName: controller.current.name, loss: outcome.loss,
                                   gradientNorm: outcome.gradientNorm, learningRate: lr, taskMetrics: task.stepMetrics,
                                   stepSeconds: seconds, dataWaitSeconds: batch.waitSeconds,
                                   communicationWaitSeconds: outcome.communicationWait,
                                   samplesPerSecond: Double(globalBatch) / max(seconds, 1e-9), applied: outcome.applied,
                                   skippedSamples: skippedSamples))
            }
            if settings.replicaCheckEvery > 0 && state.step % settings.replicaCheckEvery == 0 { try verifyReplicas() }

            let endOfEpoch = state.samplesSeen % (stepsPerEpoch * globalBatch) == 0
            let isLast = state.step == totalSteps
            let epochNumber = state.samplesSeen / (stepsPerEpoch * globalBatch)
            // At the last step and every --eval-every-steps everything is evaluated; at an epoch end, the parts due by
            // their own frequency.
            var due: Set<String>? = nil
            var evaluateNow = isLast
            if let every = settings.evalEverySteps, state.step % every == 0 { evaluateNow = true }
            if !evaluateNow && endOfEpoch {
                let parts = evaluationFrequencies.filter { epochNumber % max($0.value, 1) == 0 }.keys
                if !parts.isEmpty || evaluationFrequencies.isEmpty { evaluateNow = true; due = evaluationFrequencies.isEmpty ? nil : Set(parts) }
            }
            if evaluateNow, let evaluate, communicator.rank == 0 {
                let metrics = try withoutGradients { try evaluate(due) }
                controller.observe(metrics: metrics)
                try onEvaluation?(metrics, state)
            }
            try decideStage()
            var save = false
            if let every = settings.saveEverySteps, state.step % every == 0 { save = true }
            if endOfEpoch && settings.saveFrequency > 0 && epochNumber % settings.saveFrequency == 0 { save = true }
            if save || isLast { try saveCheckpoint?(state, isLast) }
        }
        return state
    }

    /// Rank 0 decides whether the stage ends here and broadcasts the decision; every rank applies it.
    func decideStage() throws {
        var decision = controller.state
        if communicator.rank == 0 && controller.shouldAdvance(step: state.step, samples: state.samplesSeen) {
            var next = controller
            next.advance(step: state.step, samples: state.samplesSeen)
            decision = next.state
        }
        decision = try communicator.broadcastValue(decision, root: 0)
        if decision != controller.state {
            let previous = controller.current.name
            controller.apply(decision)
            task.applyStageSettings(stageSettings[controller.state.index])
            try engine.setTrainable(trainableMask())
            if communicator.rank == 0 {
                try onMessage?("stage \(previous) -> \(controller.current.name) at step \(state.step)")
                try onMessage?(OptimizerMemory(engine: engine, parameterCount: task.parameters.count, ranks: communicator.size).text)
            }
        }
        state.stage = controller.state
    }
}
