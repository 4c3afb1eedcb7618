import CLIP
import Foundation
import NN
import TensorCore

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
        let collectives = try RunEnvironment.collectives()
        let isRoot = collectives.rank == 0
        let modelConfig = try ModelCatalog.config(configuration.model)
        let model = CLIPModel(config: modelConfig, seed: configuration.seed)
        let data = try RunEnvironment.dataSource(configuration, model: modelConfig, rank: collectives.rank, worldSize: collectives.size)
        let trainer = try Trainer(configuration: configuration, model: model, collectives: collectives, data: data)

        var outputs: RunOutputs?
        if isRoot {
            outputs = try RunOutputs(directory: directory, configuration: configuration)
            print("swiftclip: training \(configuration.model) (\(model.parameters.count) parameters) on \(collectives.size) rank(s), global batch \(trainer.globalBatch), \(trainer.totalSteps) steps -> \(directory)")
        }
        trainer.onStep = { record in outputs?.log(record, every: self.configuration.logEveryNSteps) }
        trainer.onMessage = { message in outputs?.message(message) }
        trainer.onEvaluation = { metrics, state in outputs?.evaluation(metrics, state: state) }
        let final = try trainer.run()
        outputs?.finish(final)
    }
}

/// What rank 0 writes while training: `results.jsonl`, a progress line, and the resolved recipe.
final class RunOutputs {
    let directory: String
    let results: FileHandle
    let isTerminal = isatty(1) != 0

    init(directory: String, configuration: TrainingConfiguration) throws {
        self.directory = directory
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: directory + "/checkpoints", withIntermediateDirectories: true)
        } catch {
            throw TrainingError("\(directory): cannot create the run folder (\(error.localizedDescription))")
        }
        try Recipe.yaml(of: configuration).write(toFile: directory + "/recipe.yaml", atomically: true, encoding: .utf8)
        let path = directory + "/results.jsonl"
        if !fm.fileExists(atPath: path) { fm.createFile(atPath: path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw TrainingError("\(path): cannot open for writing") }
        handle.seekToEndOfFile()
        results = handle
    }

    func write(_ object: [String: Any]) {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        results.write(data + Data("\n".utf8))
    }

    func log(_ r: StepRecord, every: Int) {
        let shouldLog = r.step % max(every, 1) == 0 || r.step == r.totalSteps || r.step == 1
        if shouldLog {
            write(["step": r.step, "epoch": r.epoch, "samples_seen": r.samplesSeen, "stage": r.stage, "loss": r.loss.isFinite ? r.loss : -1,
                   "lr": Double(r.learningRate), "logit_scale": Double(r.logitScale), "grad_norm": r.gradientNorm.isFinite ? r.gradientNorm : -1,
                   "samples_per_second": r.samplesPerSecond, "step_time": r.stepSeconds, "data_time": r.dataWaitSeconds,
                   "comm_wait": r.communicationWaitSeconds, "update_applied": r.applied])
        }
        let line = String(format: "step %d/%d  epoch %d  stage %@  loss %.4f  lr %.2e  scale %.2f  %.1f samples/s  data %.0f%%",
                          r.step, r.totalSteps, r.epoch, r.stageName, r.loss, r.learningRate, r.logitScale,
                          r.samplesPerSecond, 100 * r.dataWaitSeconds / max(r.stepSeconds, 1e-9))
        if isTerminal {
            print("\r" + line, terminator: r.step == r.totalSteps ? "\n" : "")
            fflush(stdout)
        } else if shouldLog {
            print(line)
        }
    }

    func message(_ text: String) {
        if isTerminal { print("") }
        print("swiftclip: \(text)")
        write(["message": text])
    }

    func evaluation(_ metrics: [String: Double], state: TrainingState) {
        var object: [String: Any] = ["step": state.step, "epoch": state.epoch]
        for (k, v) in metrics { object[k] = v }
        write(object)
        let shown = metrics.keys.sorted().map { String(format: "%@ %.4f", $0, metrics[$0]!) }.joined(separator: "  ")
        if isTerminal { print("") }
        print("eval step \(state.step): \(shown)")
    }

    func finish(_ state: TrainingState) {
        try? results.synchronize()
        results.closeFile()
    }
}

/// The parts of a run that depend on how the process was started and what data was asked for.
enum RunEnvironment {
    static func collectives() throws -> TrainerCollectives { SingleProcessCollectives() }

    static func dataSource(_ c: TrainingConfiguration, model: CLIPConfig, rank: Int, worldSize: Int) throws -> TrainingDataSource {
        switch c.datasetType {
        case "random":
            return RandomDataSource(config: model, batchPerRank: c.batchSize, rank: rank, worldSize: worldSize,
                                    samplesPerEpoch: c.trainNumSamples ?? c.batchSize * worldSize * 100, seed: c.seed)
        default:
            throw TrainingError("--dataset-type \(c.datasetType) is not available in this build")
        }
    }
}
