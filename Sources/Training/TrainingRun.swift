import CLIP
import CMPI
import DataPipeline
import Distributed
import Foundation
import NN
import TensorCore
import Text

/// A whole `swiftclip train` run: assembles the model, collectives, data, outputs, checkpoints and
/// evaluation around a `Trainer`, and reports on rank 0.
public final class TrainingRun {
    public let configuration: TrainingConfiguration

    public init(configuration: TrainingConfiguration) {
        self.configuration = configuration
    }

    /// The run folder: LOGS/NAME.
    public var directory: String { configuration.logs + "/" + configuration.runName }

    public func run() throws {
        AllocatorPolicy.keepFreedMemory()
        let collectives = try MPIEnvironment.collectives()
        let isRoot = collectives.rank == 0
        var configuration = self.configuration
        var modelConfig = try ModelCatalog.config(configuration.model)
        if configuration.siglip && modelConfig.initLogitBias == nil {
            // OpenCLIP's --siglip initialisation: a learnable bias of -10 and a temperature of 10.
            modelConfig.initLogitBias = -10
            modelConfig.initLogitScale = Foundation.log(10)
        }
        let model = CLIPModel(config: modelConfig, seed: configuration.seed)
        let checkpointFolder = directory + "/checkpoints"

        // Resume: rank 0 reads and verifies the checkpoint; the others receive its state and moments.
        var restored: RunCheckpoints.Restored?
        var notes: [String] = []
        if let resume = configuration.resume, isRoot {
            if let loaded = try RunCheckpoints.load(resume, runCheckpoints: checkpointFolder, messages: { notes.append($0) }) {
                restored = try RunCheckpoints.restore(loaded, into: model)
                notes.append("resuming from \(loaded.url.path) at step \(restored!.state.step)")
            } else {
                notes.append("no checkpoint in \(checkpointFolder) yet; starting fresh")
            }
        }
        let savedState = try collectives.broadcast(restored?.state, root: 0)
        if let saved = savedState, saved.globalBatch > 0, saved.globalBatch != configuration.batchSize * collectives.size {
            // Keep the global batch (and so the data order and the optimisation) when the world size changes.
            guard saved.globalBatch % collectives.size == 0 else {
                throw TrainingError("cannot resume a global batch of \(saved.globalBatch) on \(collectives.size) ranks (not divisible)")
            }
            notes.append("resuming on \(collectives.size) ranks: --batch-size \(configuration.batchSize) -> \(saved.globalBatch / collectives.size) per rank to keep the global batch \(saved.globalBatch)")
            configuration.batchSize = saved.globalBatch / collectives.size
        }

        let dataSetup = DataSetup(configuration: configuration, model: modelConfig, runDirectory: directory)
        let data = try RunEnvironment.dataSource(configuration, setup: dataSetup, rank: collectives.rank, worldSize: collectives.size)
        let trainer = try Trainer(configuration: configuration, model: model, collectives: collectives, data: data)
        if let saved = savedState {
            try trainer.engine.optimizer.withMoments { m, v in
                if let restored {
                    _ = m.update(from: restored.firstMoment)
                    _ = v.update(from: restored.secondMoment)
                }
                try collectives.broadcast(m, root: 0)
                try collectives.broadcast(v, root: 0)
            }
            try trainer.engine.optimizer.restore(steps: saved.optimizerSteps)
            try trainer.restore(saved)
        }

        // Building and restoring the model left table-sized temporaries behind; training never asks for those sizes
        // again, so hand them back before they sit idle at every step's memory peak.
        AllocatorPolicy.releaseFreedMemory()
        var outputs: RunOutputs?
        var checkpoints: RunCheckpoints?
        if isRoot {
            outputs = try RunOutputs(directory: directory, configuration: configuration)
            checkpoints = try RunCheckpoints(directory: checkpointFolder, keep: configuration.keep,
                                             compressionLevel: configuration.checkpointCompressionLevel)
            if configuration.datasetType != "random", let trained = try dataSetup.tokenizer() as? TrainedBPETokenizer {
                checkpoints?.tokenizerJSON = String(decoding: try trained.jsonData(), as: UTF8.self)
            }
            print("swiftclip: training \(configuration.model) (\(model.parameters.count) parameters) on \(collectives.size) rank(s), global batch \(trainer.globalBatch), \(trainer.totalSteps) steps -> \(directory)")
            for note in notes { outputs?.message(note) }
        }
        if isRoot, configuration.datasetType != "random" {
            let evaluator = Evaluator(tokenizer: try dataSetup.tokenizer(), zeroShot: try dataSetup.zeroShotTask(),
                                      validation: try dataSetup.validationSource())
            evaluator.workers = configuration.workers
            if evaluator.zeroShot != nil || evaluator.validation != nil {
                let total = trainer.totalSteps, perEpoch = trainer.stepsPerEpoch
                trainer.evaluate = { model, state in
                    // At an epoch end each part follows its own frequency; at the last step and with --eval-every-steps, both run.
                    let epochEnd = state.step % perEpoch == 0 && state.step != total
                    let epoch = state.step / perEpoch
                    return try evaluator.evaluate(model,
                                                  zeroShot: !epochEnd || epoch % max(configuration.zeroshotFrequency, 1) == 0,
                                                  retrieval: !epochEnd || epoch % max(configuration.valFrequency, 1) == 0)
                }
            }
        }
        trainer.onStep = { record in outputs?.log(record, every: configuration.logEveryNSteps) }
        trainer.onMessage = { message in outputs?.message(message) }
        trainer.onEvaluation = { metrics, state in outputs?.evaluation(metrics, state: state) }
        trainer.saveCheckpoint = { state, _ in
            // Replicas must agree before rank 0 writes for all of them.
            try trainer.verifyReplicas()
            guard let checkpoints else { return }
            try checkpoints.save(model: model, optimizer: trainer.engine.optimizer, state: state)
            outputs?.message(String(format: "checkpoint of step %d handed to the background writer (training paused %.0f ms)", state.step, checkpoints.lastPause * 1000))
        }
        do {
            let final = try trainer.run()
            try checkpoints?.finish()
            outputs?.finish(final)
            try MPIEnvironment.finish(collectives)
        } catch {
            // A save in flight is completed (or reported) before the error ends the run.
            try? checkpoints?.finish()
            guard collectives.size > 1 else { throw error }
            FileHandle.standardError.write(Data("swiftclip train: rank \(collectives.rank): \(error)\n".utf8))
            MPIEnvironment.abort(collectives)
        }
    }
}

/// What rank 0 writes while training: `results.jsonl`, TensorBoard events, progress lines, the resolved recipe.
final class RunOutputs {
    let directory: String
    let results: ResultsLog
    let tensorboard: TensorBoardWriter?
    /// A live progress line needs a terminal of our own; under mpirun output is forwarded line by line.
    let isTerminal = isatty(1) != 0 && ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] == nil

    init(directory: String, configuration: TrainingConfiguration) throws {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory + "/checkpoints", withIntermediateDirectories: true)
        } catch {
            throw TrainingError("\(directory): cannot create the run folder (\(error.localizedDescription))")
        }
        try Recipe.yaml(of: configuration).write(toFile: directory + "/recipe.yaml", atomically: true, encoding: .utf8)
        results = try ResultsLog(directory: directory)
        tensorboard = configuration.reportTo.contains("tensorboard") ? try TensorBoardWriter(directory: directory + "/tensorboard") : nil
    }

    func log(_ r: StepRecord, every: Int) {
        let shouldLog = r.step % max(every, 1) == 0 || r.step == r.totalSteps || r.step == 1
        if shouldLog {
            let values: [String: Double] = [
                "loss": r.loss, "lr": Double(r.learningRate), "logit_scale": Double(r.logitScale), "grad_norm": r.gradientNorm,
                "samples_per_second": r.samplesPerSecond, "step_time": r.stepSeconds, "data_time": r.dataWaitSeconds,
                "comm_wait": r.communicationWaitSeconds]
            try? results.append(metrics: values, extra: ["step": .int(r.step), "epoch": .int(r.epoch), "samples_seen": .int(r.samplesSeen),
                                                         "stage": .int(r.stage), "update_applied": .bool(r.applied)])
            try? tensorboard?.scalars(values.mapKeys { "train/" + $0 }, step: r.step)
        }
        let line = String(format: "step %d/%d  epoch %d  stage %@  loss %.4f  lr %.2e  scale %.2f  %.1f samples/s  data %.0f%%  ETA %@",
                          r.step, r.totalSteps, r.epoch, r.stageName, r.loss, r.learningRate, r.logitScale, r.samplesPerSecond,
                          100 * r.dataWaitSeconds / max(r.stepSeconds, 1e-9),
                          ProgressFormat.duration(Double(r.totalSteps - r.step) * r.stepSeconds))
        if isTerminal {
            print("\r" + line, terminator: r.step == r.totalSteps ? "\n" : "")
            fflush(stdout)
        } else if shouldLog {
            print(line)
            fflush(stdout)
        }
    }

    func message(_ text: String) {
        if isTerminal { print("") }
        print("swiftclip: \(text)")
        fflush(stdout)
        try? results.append(["message": .string(text)])
    }

    func evaluation(_ metrics: [String: Double], state: TrainingState) {
        try? results.append(metrics: metrics, extra: ["step": .int(state.step), "epoch": .int(state.epoch)])
        try? tensorboard?.scalars(metrics.mapKeys { "val/" + $0 }, step: state.step)
        let shown = metrics.keys.sorted().map { String(format: "%@ %.4f", $0, metrics[$0]!) }.joined(separator: "  ")
        if isTerminal { print("") }
        print("eval step \(state.step): \(shown)")
        fflush(stdout)
    }

    func finish(_ state: TrainingState) {
        try? tensorboard?.close()
    }
}

extension Dictionary {
    func mapKeys<K: Hashable>(_ transform: (Key) -> K) -> [K: Value] {
        Dictionary<K, Value>(uniqueKeysWithValues: map { (transform($0.key), $0.value) })
    }
}

/// The parts of a run that depend on how the process was started and what data was asked for.
/// How the process was started: alone or by an MPI launcher.
public enum MPIEnvironment {
    /// MPI collectives when started by `mpirun` (or another PMI launcher), otherwise a single rank.
    public static func collectives() throws -> TrainerCollectives {
        let environment = ProcessInfo.processInfo.environment
        let launchedByMPI = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"].contains { environment[$0] != nil }
        guard launchedByMPI else { return SingleProcessCollectives() }
        let timeout = environment["SWIFTCLIP_COLLECTIVE_TIMEOUT"].flatMap(Double.init) ?? 300
        return CommunicatorCollectives(try MPICommunicator(collectiveTimeout: timeout))
    }

    /// Ends MPI cleanly after a successful run.
    public static func finish(_ collectives: TrainerCollectives) throws {
        if let mpi = (collectives as? CommunicatorCollectives)?.communicator as? MPICommunicator { try mpi.finalize() }
    }

    /// Ends the whole job after an error on this rank, so the other ranks do not wait for it.
    public static func abort(_ collectives: TrainerCollectives) -> Never {
        if collectives.size > 1, let mpi = (collectives as? CommunicatorCollectives)?.communicator as? MPICommunicator {
            _ = try? mpi.withWorldCommunicator { MPI_Abort($0, 1) }
        }
        exit(1)
    }

}

enum RunEnvironment {
    static func dataSource(_ c: TrainingConfiguration, setup: DataSetup, rank: Int, worldSize: Int) throws -> TrainingDataSource {
        let model = setup.model
        if c.datasetType == "random" {
            return RandomDataSource(config: model, batchPerRank: c.batchSize, rank: rank, worldSize: worldSize,
                                    samplesPerEpoch: c.trainNumSamples ?? c.batchSize * worldSize * 100, seed: c.seed)
        }
        let tokenizer = try setup.tokenizer()
        if rank == 0 {
            try FileManager.default.createDirectory(atPath: setup.runDirectory, withIntermediateDirectories: true)
            try setup.saveTokenizer(tokenizer)
        }
        let source = try setup.sourceOptions(data: c.trainData, split: .train).makeSource()
        let options = LoaderOptions(mode: .training, batchSize: c.batchSize, worldSize: worldSize, rank: rank, seed: c.seed,
                                    epochLength: c.trainNumSamples, transform: ImageTransform(mode: .train, size: model.vision.imageSize),
                                    contextLength: model.text.contextLength, workers: c.workers)
        return try LoaderDataSource(source: source, tokenizer: tokenizer, options: options, imageSize: model.vision.imageSize)
    }
}
