import Distributed
import Foundation
import TrainingKit

/// What rank 0 writes while training: `results.jsonl`, TensorBoard events, the progress line and messages, and the
/// resolved recipe. A failed write is an error that stops the run (metrics are results; losing them silently is not
/// acceptable), naming the file.
final class RunOutputs {
    let directory: String
    let results: ResultsLog
    let tensorboard: TensorBoardWriter?
    let progress: ProgressReporter
    /// Smoothed pace for the progress line, so one slow step (an evaluation, a save) barely moves the ETA.
    var pace = ThroughputMeter()
    /// The last evaluation's metrics, repeated when the run finishes so that its output ends with them.
    var lastEvaluation: [String: Double] = [:]
    /// Under mpirun output is forwarded line by line, so the live line needs a terminal of the process's own.
    static var interactive: Bool {
        ProgressReporter.standardOutputIsTerminal && !MPILaunch.isMPIJob
    }

    init(directory: String, settings: Settings) throws {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory + "/checkpoints", withIntermediateDirectories: true)
        } catch {
            throw TrainingError("\(directory): cannot create the run folder (\(error.localizedDescription))")
        }
        do {
            try Families.registry.recipe(of: settings).write(toFile: directory + "/recipe.yaml", atomically: true, encoding: .utf8)
        } catch {
            throw TrainingError("\(directory)/recipe.yaml: cannot write the resolved settings (\(error.localizedDescription))")
        }
        results = try ResultsLog(directory: directory)
        tensorboard = settings.reportTo.contains(.tensorboard) ? try TensorBoardWriter(directory: directory + "/tensorboard") : nil
        progress = ProgressReporter(interactive: Self.interactive, logEvery: settings.logEveryNSteps)
    }

    func log(_ r: StepRecord, every: Int) throws {
        pace.record(stepSeconds: r.stepSeconds, dataWaitSeconds: r.dataWaitSeconds, samples: r.samplesPerSecond.isFinite ? Int((r.samplesPerSecond * r.stepSeconds).rounded()) : 0)
        progress.update(ProgressSnapshot(step: r.step, totalSteps: r.totalSteps, epoch: r.epoch, loss: r.loss,
                                         learningRate: Double(r.learningRate), logitScale: r.taskMetrics["logit_scale"],
                                         samplesPerSecond: pace.samplesPerSecond, dataWaitFraction: pace.dataWaitFraction,
                                         secondsPerStep: pace.secondsPerStep))
        guard r.step % max(every, 1) == 0 || r.step == r.totalSteps || r.step == 1 else { return }
        var values: [String: Double] = [
            "loss": r.loss, "lr": Double(r.learningRate), "grad_norm": r.gradientNorm,
            "samples_per_second": r.samplesPerSecond, "step_time": r.stepSeconds, "data_time": r.dataWaitSeconds,
            "comm_wait": r.communicationWaitSeconds]
        values.merge(r.taskMetrics) { $1 }
        try results.append(metrics: values, extra: ["step": .int(r.step), "epoch": .int(r.epoch), "samples_seen": .int(r.samplesSeen),
                                                     "stage": .int(r.stage), "update_applied": .bool(r.applied),
                                                     "skipped_samples": .int(r.skippedSamples)])
        try tensorboard?.scalars(values.merging(["skipped_samples": Double(r.skippedSamples)]) { $1 }.mapKeys { "train/" + $0 }, step: r.step)
    }

    func message(_ text: String) throws {
        progress.message("swiftclip: \(text)")
        try results.append(["message": .string(text)])
    }

    func evaluation(_ metrics: [String: Double], tables: [String: [[Double]]] = [:], state: TrainingState) throws {
        lastEvaluation = metrics
        progress.message("eval step \(state.step): \(Self.shown(metrics))")
        try results.append(metrics: metrics, extra: tables.mapValues { ResultValue.table($0) }.merging(["step": .int(state.step), "epoch": .int(state.epoch)]) { $1 })
        try tensorboard?.scalars(metrics.mapKeys { "val/" + $0 }, step: state.step)
    }

    static func shown(_ metrics: [String: Double]) -> String {
        metrics.keys.sorted().map { String(format: "%@ %.4f", $0, metrics[$0]!) }.joined(separator: "  ")
    }

    func finish(_ state: TrainingState) throws {
        if !lastEvaluation.isEmpty { progress.message("finished at step \(state.step): \(Self.shown(lastEvaluation))") }
        progress.finish()
        try tensorboard?.close()
    }
}

extension Dictionary {
    func mapKeys<K: Hashable>(_ transform: (Key) -> K) -> [K: Value] {
        Dictionary<K, Value>(uniqueKeysWithValues: map { (transform($0.key), $0.value) })
    }
}
