import Distributed
import Foundation
import NN
import TensorCore
import TrainingKit

/// A whole `swiftclip train` run of any family: assembles the task, communicator, data, outputs, checkpoints and
/// evaluation around a `Trainer`, and reports on rank 0.
public final class TrainingRun {
    public let settings: Settings

    public init(settings: Settings) {
        self.settings = settings
    }

    /// The run folder: LOGS/NAME.
    public lazy var directory: String = settings.logs + "/" + settings.runName

    public func run() throws {
        AllocatorPolicy.keepFreedMemory()
        try Families.registry.checkFamily(of: settings)
        let family = try Families.family(named: settings.task)
        let communicator = try MPILaunch.communicator()
        let isRoot = communicator.rank == 0
        var settings = self.settings
        let task = try family.makeTask(settings: settings)
        let checkpointFolder = directory + "/checkpoints"

        // Resume: rank 0 reads and verifies the checkpoint; the others receive its state and moments.
        var restored: RunCheckpoints.Restored?
        var notes: [String] = []
        if let resume = settings.resume, isRoot {
            if let loaded = try RunCheckpoints.load(resume, runCheckpoints: checkpointFolder, messages: { notes.append($0) }) {
                restored = try RunCheckpoints.restore(loaded, into: task, family: family.name)
                notes.append("resuming from \(loaded.url.path) at step \(restored!.state.step)")
            } else {
                notes.append("no checkpoint in \(checkpointFolder) yet; starting fresh")
            }
        }
        let savedState = try communicator.broadcastValue(Optional(restored?.state), root: 0)
        if let saved = savedState, saved.globalBatch > 0, saved.globalBatch != settings.batchSize * communicator.size {
            // Keep the global batch (and so the data order and the optimisation) when the world size changes.
            guard saved.globalBatch % communicator.size == 0 else {
                throw TrainingError("cannot resume a global batch of \(saved.globalBatch) on \(communicator.size) ranks (not divisible)")
            }
            notes.append("resuming on \(communicator.size) ranks: --batch-size \(settings.batchSize) -> \(saved.globalBatch / communicator.size) per rank to keep the global batch \(saved.globalBatch)")
            settings.batchSize = saved.globalBatch / communicator.size
        }

        let context = RunContext(settings: settings, rank: communicator.rank, worldSize: communicator.size, runDirectory: directory)
        let data = try task.trainingData(context)
        let trainer = try Trainer(settings: settings, task: task, communicator: communicator, data: data)
        if let saved = savedState {
            // Rank 0's full moments go to every rank, whole or as each rank's shard, whatever the run that saved them.
            try trainer.restore(saved)
            try trainer.engine.restoreOptimizerState(moments: restored.map { (first: $0.firstMoment, second: $0.secondMoment) },
                                                     steps: saved.optimizerSteps)
        }

        // Every rank checks the plateau metrics so that all of them stop on the same error.
        let evaluation = try task.evaluation(context)
        try EngineValidation.checkPlateauMetrics(settings, available: evaluation?.metricNames ?? [])

        // Building and restoring the model left table-sized temporaries behind; training never asks for those sizes
        // again, so hand them back before they sit idle at every step's memory peak.
        AllocatorPolicy.releaseFreedMemory()
        var outputs: RunOutputs?
        var checkpoints: RunCheckpoints?
        if isRoot {
            outputs = try RunOutputs(directory: directory, settings: settings)
            checkpoints = try RunCheckpoints(directory: checkpointFolder, keep: settings.keep,
                                             compressionLevel: settings.checkpointCompressionLevel)
            print("swiftclip: training \(family.name) \(task.modelLabel ?? settings.model) (\(task.parameters.count) parameters) on \(communicator.size) rank(s), global batch \(trainer.globalBatch), \(trainer.totalSteps) steps -> \(directory)")
            print(OptimizerMemory(engine: trainer.engine, parameterCount: task.parameters.count, ranks: communicator.size).line)
            fflush(stdout)
            for note in notes { try outputs?.message(note) }
            if let evaluation {
                trainer.evaluate = { due in try evaluation.evaluate(due: due) }
                trainer.evaluationFrequencies = evaluation.frequencies
            }
        }
        trainer.onStep = { record in try outputs?.log(record, every: settings.logEveryNSteps) }
        trainer.onMessage = { message in try outputs?.message(message) }
        trainer.onEvaluation = { metrics, state in try outputs?.evaluation(metrics, tables: evaluation?.tables ?? [:], state: state) }
        trainer.saveCheckpoint = { state, _ in
            // Replicas must agree before rank 0 writes for all of them.
            try trainer.verifyReplicas()
            // Every rank takes part in gathering the full optimizer state to rank 0.
            let moments = try trainer.engine.gatherOptimizerMoments()
            guard let checkpoints, let moments else { return }
            try checkpoints.save(task: task, family: family.name, moments: moments, state: state)
            try outputs?.message(String(format: "checkpoint of step %d handed to the background writer (training paused %.0f ms)", state.step, checkpoints.lastPause * 1000))
        }
        do {
            let final = try trainer.run()
            try checkpoints?.finish()
            try outputs?.finish(final)
            try MPILaunch.finish(communicator)
        } catch {
            // A save in flight is completed (or reported) before the error ends the run.
            try? checkpoints?.finish()
            guard communicator.size > 1 else { throw error }
            MPILaunch.abortJob(communicator, message: "swiftclip train: rank \(communicator.rank): \(error)")
        }
    }
}

