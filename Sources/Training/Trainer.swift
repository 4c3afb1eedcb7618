import CLIP
import Distributed
import Foundation
import NN
import Optim
import TensorCore

/// This rank's share of one global batch.
public struct LocalBatch {
    public var images: Tensor
    public var tokens: [Int32]
    /// Seconds `next()` waited for the batch to be ready (data loading not hidden by prefetch).
    public var waitSeconds: Double
    public init(images: Tensor, tokens: [Int32], waitSeconds: Double) {
        self.images = images; self.tokens = tokens; self.waitSeconds = waitSeconds
    }
}

/// Where batches come from: rank r's slice of global batch i is the same whatever the world size.
public protocol TrainingDataSource: AnyObject {
    /// Global samples in one epoch.
    var samplesPerEpoch: Int { get }
    /// Positions the source so that the next batch starts at `samplesSeen` (a global sample count).
    func seek(samplesSeen: Int) throws
    /// The next local batch.
    func next() throws -> LocalBatch
}

/// One logged training step (rank 0).
public struct StepRecord: Sendable {
    public var step: Int, totalSteps: Int, epoch: Int, samplesSeen: Int
    public var stage: Int, stageName: String
    public var loss: Double, gradientNorm: Double, learningRate: Float, logitScale: Float
    public var stepSeconds: Double, dataWaitSeconds: Double, communicationWaitSeconds: Double
    public var samplesPerSecond: Double
    public var applied: Bool
}

/// The training loop: steps, stages decided on rank 0 and broadcast, evaluation, checkpoints, logging.
///
/// Collaborators are passed in so the loop runs the same with MPI or alone, on any data source, and
/// with checkpoint/evaluation/logging wired by the caller (the CLI).
public final class Trainer {
    public let configuration: TrainingConfiguration
    public let model: CLIPModel
    public let collectives: TrainerCollectives
    public let data: TrainingDataSource
    public let engine: StepEngine
    public private(set) var state = TrainingState()
    public private(set) var controller: StageController

    /// Called on rank 0 after each step.
    public var onStep: ((StepRecord) -> Void)?
    /// Runs evaluation (rank 0) and returns OpenCLIP-named metrics.
    public var evaluate: ((CLIPModel, TrainingState) throws -> [String: Double])?
    /// Called on rank 0 with evaluation results.
    public var onEvaluation: (([String: Double], TrainingState) -> Void)?
    /// Saves a checkpoint (called on every rank; rank 0 writes). `final` marks the end of the run.
    public var saveCheckpoint: ((TrainingState, _ final: Bool) throws -> Void)?
    /// Called on rank 0 with one-line messages: stage changes, skipped steps, resume notes.
    public var onMessage: ((String) -> Void)?

    public var globalBatch: Int { configuration.batchSize * collectives.size }
    public var stepsPerEpoch: Int { max(data.samplesPerEpoch / globalBatch, 1) }
    public var totalSteps: Int {
        let full = stepsPerEpoch * configuration.epochs
        return configuration.maxSteps.map { min($0, full) } ?? full
    }

    public init(configuration: TrainingConfiguration, model: CLIPModel, collectives: TrainerCollectives,
                data: TrainingDataSource) throws {
        try configuration.validate()
        self.configuration = configuration
        self.model = model
        self.collectives = collectives
        self.data = data
        let hyper = AdamW.Hyperparameters(beta1: Float(configuration.beta1), beta2: Float(configuration.beta2),
                                          epsilon: Float(configuration.eps), weightDecay: Float(configuration.wd))
        engine = StepEngine(model: model, collectives: collectives, hyperparameters: hyper,
                            bucketBytes: Int(configuration.bucketMB * 1_048_576), deterministic: configuration.deterministic)
        engine.siglip = configuration.siglip
        engine.gradientClipNorm = configuration.gradClipNorm
        engine.accumulation = configuration.accumFreq
        model.checkpointedBlocksPerTower = configuration.checkpointedBlocksPerTower
        model.mlpRecomputedBlocksPerTower = configuration.recomputeMLPBlocks ?? 0
        controller = StageController(stages: configuration.stages)
        state.seed = configuration.seed
        state.hyperparameters = hyper
        state.worldSize = collectives.size
        state.globalBatch = globalBatch
        state.configuration = configuration
        state.optimizerSteps = engine.optimizer.steps
    }

    /// Continues from a checkpoint's state (parameters and optimizer moments already restored by the caller).
    public func restore(_ saved: TrainingState) throws {
        if saved.globalBatch != 0 && saved.globalBatch != globalBatch {
            onMessage?("resuming with global batch \(globalBatch) (was \(saved.globalBatch) = \(saved.worldSize) ranks × \(saved.globalBatch / max(saved.worldSize, 1))); the data order continues from sample \(saved.samplesSeen)")
        }
        state.step = saved.step
        state.epoch = saved.epoch
        state.samplesSeen = saved.samplesSeen
        state.stage = saved.stage
        state.consecutiveNonFinite = saved.consecutiveNonFinite
        controller.apply(saved.stage)
    }

    /// Which parameters train in the current stage (and under `--lock-image` / `--lock-text`).
    public func trainableMask() -> [Bool] {
        let stage = controller.current
        return model.parameters.parameters.map { p in
            guard stage.trains(p.name) else { return false }
            if configuration.lockImage && p.name.hasPrefix("visual.") { return false }
            if configuration.lockText && Self.isTextParameter(p.name) { return false }
            return true
        }
    }

    static func isTextParameter(_ name: String) -> Bool {
        ["token_embedding", "positional_embedding", "transformer.", "ln_final", "text_projection"].contains { name.hasPrefix($0) }
    }

    /// The learning rate of `step` under the current stage's schedule.
    public func learningRate(at step: Int) -> Float {
        let stage = controller.current, stageState = controller.state
        let kind = LearningRateSchedule.Kind(rawValue: stage.schedule ?? configuration.lrScheduler) ?? .cosine
        let warmup = stage.warmup ?? (stageState.index == 0 ? configuration.warmup : 0)
        let stageSteps = stage.steps ?? max(totalSteps - stageState.startStep, 1)
        var schedule = LearningRateSchedule(kind: kind, baseLR: Float(stage.lr ?? configuration.lr), warmupSteps: warmup, totalSteps: stageSteps)
        schedule.cooldownSteps = stageSteps / 10
        return schedule.learningRate(at: step - stageState.startStep)
    }

    /// Broadcasts rank 0's parameters and verifies that every rank holds the same replica.
    public func synchronizeReplicas() throws {
        try collectives.broadcast(model.parameters.flatValues, root: 0)
        try verifyReplicas()
    }

    public func verifyReplicas() throws {
        let checksum = Checksum64.hash(UnsafeRawBufferPointer(model.parameters.flatValues))
        let all = try collectives.gatherChecksums(checksum)
        let differing = all.indices.filter { all[$0] != all[0] }
        if !differing.isEmpty {
            throw TrainingError("replicas diverged at step \(state.step): ranks \(differing.map(String.init).joined(separator: ", ")) differ from rank 0 (parameter checksum); refusing to continue")
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
            let outcome = try engine.step(images: batch.images, tokens: batch.tokens, trainable: trainableMask(), learningRate: lr)
            state.step += 1
            state.samplesSeen += globalBatch
            state.epoch = state.samplesSeen / (stepsPerEpoch * globalBatch)
            state.optimizerSteps = engine.optimizer.steps
            if outcome.applied {
                state.consecutiveNonFinite = 0
            } else {
                state.consecutiveNonFinite += 1
                onMessage?("step \(state.step): non-finite loss or gradient (loss \(outcome.loss), grad norm \(outcome.gradientNorm)); update skipped (\(state.consecutiveNonFinite) in a row)")
                if state.consecutiveNonFinite >= configuration.maxNonFiniteSteps {
                    throw TrainingError("stopping at step \(state.step): \(state.consecutiveNonFinite) consecutive non-finite steps; the last good checkpoint is intact (lower --lr or add --grad-clip-norm)")
                }
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - stepStart) / 1e9
            if collectives.rank == 0 {
                onStep?(StepRecord(step: state.step, totalSteps: totalSteps, epoch: state.epoch, samplesSeen: state.samplesSeen,
                                   stage: controller.state.index, stageName: controller.current.name, loss: outcome.loss,
                                   gradientNorm: outcome.gradientNorm, learningRate: lr, logitScale: Foundation.exp(model.logitScale.value.scalar),
                                   stepSeconds: seconds, dataWaitSeconds: batch.waitSeconds,
                                   communicationWaitSeconds: outcome.communicationWait,
                                   samplesPerSecond: Double(globalBatch) / max(seconds, 1e-9), applied: outcome.applied))
            }
            if configuration.replicaCheckEvery > 0 && state.step % configuration.replicaCheckEvery == 0 { try verifyReplicas() }

            let endOfEpoch = state.samplesSeen % (stepsPerEpoch * globalBatch) == 0
            let isLast = state.step == totalSteps
            let epochNumber = state.samplesSeen / (stepsPerEpoch * globalBatch)
            var evaluateNow = false
            if let every = configuration.evalEverySteps, state.step % every == 0 { evaluateNow = true }
            if endOfEpoch && (epochNumber % max(configuration.valFrequency, 1) == 0
                              || epochNumber % max(configuration.zeroshotFrequency, 1) == 0) { evaluateNow = true }
            if isLast { evaluateNow = true }
            if evaluateNow, let evaluate {
                var metrics: [String: Double] = [:]
                if collectives.rank == 0 {
                    metrics = try withoutGradients { try evaluate(model, state) }
                    controller.observe(metrics: metrics)
                    onEvaluation?(metrics, state)
                }
            }
            try decideStage()
            var save = false
            if let every = configuration.saveEverySteps, state.step % every == 0 { save = true }
            if endOfEpoch && configuration.saveFrequency > 0 && epochNumber % configuration.saveFrequency == 0 { save = true }
            if save || isLast { try saveCheckpoint?(state, isLast) }
        }
        return state
    }

    /// Rank 0 decides whether the stage ends here and broadcasts the decision; every rank applies it.
    func decideStage() throws {
        var decision = controller.state
        if collectives.rank == 0 && controller.shouldAdvance(step: state.step, samples: state.samplesSeen) {
            var next = controller
            next.advance(step: state.step, samples: state.samplesSeen)
            decision = next.state
        }
        decision = try collectives.broadcast(decision, root: 0)
        if decision != controller.state {
            let previous = controller.current.name
            controller.apply(decision)
            if collectives.rank == 0 {
                onMessage?("stage \(previous) -> \(controller.current.name) at step \(state.step)")
            }
        }
        state.stage = controller.state
    }
}
