import ArgumentParser
import CLIP
import Distributed
import Foundation
import TensorCore
import Training
import TrainingKit

/// `swiftclip bench-step`: times training steps on random data, alone or under mpirun.
struct BenchStepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-step",
        abstract: "Time training steps (forward, loss, backward with all-reduce, AdamW) of a model on random data.",
        discussion: "Run under mpirun for several ranks. Prints samples/s, GFLOP/s (also as a fraction of raw cblas_sgemm measured in the same run), exposed communication and peak memory per rank; --json adds one JSON object on the last line.")

    @Option(name: .long, help: "Model family (clip, coca, ...).") var task = "clip"
    @Option(name: .long, help: "Model name (cluster-configs/models) or config JSON path.") var model = "clip-bench"
    @Option(name: .long, help: "Batch size per rank.") var batchSize = 128
    @Option(name: .long, help: "Micro-batches per step (GradCache).") var accumFreq = 1
    @Option(name: .long, help: "Timed steps.") var steps = 3
    @Flag(name: .long, help: "Recompute transformer blocks in backward (less memory, one more forward).") var gradCheckpointing = false
    @Option(name: .long, help: "Recompute only the first N blocks of each tower.") var gradCheckpointingBlocks: Int?
    @Option(name: .long, help: "Recompute the MLP hidden layer of the first N blocks of each tower in backward.") var recomputeMLPBlocks = 0
    @Option(name: .long, help: "Gradient bucket size in MB for the all-reduce.") var bucketMb = 8.0
    @Option(name: .long, help: "Untimed warm-up steps.") var warmup = 1
    @Flag(name: .long, help: "Print one JSON object on the last line.") var json = false
    @Argument(parsing: .postTerminator, help: "Training settings after --, as `swiftclip train` takes them (e.g. -- --force-patch-dropout 0.5).")
    var settingArguments: [String] = []

    func run() throws {
        try reportingErrors("bench-step") {
            AllocatorPolicy.keepFreedMemory()
            // FLOP counts (the GFLOP/s figures) exist for CLIP configs; other families report rates and memory only.
            let config = task == CLIPFamily.name ? try ModelCatalog.config(model) : nil
            let communicator = try MPILaunch.communicator()
            let settings = try Families.settings(arguments: ["--task", self.task, "--model", model, "--batch-size", "\(batchSize)",
                                                             "--dataset-type", "random"] + settingArguments)
            // The multiply-adds the step computes: with patch dropout the image tower runs on the kept tokens only, and
            // the text tower as it runs on the random captions of a batch like the timed ones.
            let forwardMACs = config.map {
                $0.forwardMACsPerSample(patchDropout: settings.forcePatchDropout,
                                        captionLengths: RandomDataSource.captionLengths(batch: batchSize, contextLength: $0.text.contextLength))
            } ?? 0
            let task = try Families.family(named: self.task).makeTask(settings: settings)
            task.setRecomputation(blocks: gradCheckpointingBlocks ?? (gradCheckpointing ? Int.max : 0), mlpBlocks: recomputeMLPBlocks)
            let context = RunContext(settings: settings, rank: communicator.rank, worldSize: communicator.size, runDirectory: NSTemporaryDirectory())
            var timer = StepTimer(task: task, data: try task.trainingData(context), batchPerRank: batchSize,
                                  forwardMACsPerSample: forwardMACs)
            timer.accumulation = accumFreq
            timer.activationPrecision = settings.activationDtype
            guard bucketMb > 0 else { throw ValidationError("--bucket-mb must be positive, got \(bucketMb)") }
            timer.bucketBytes = Int(bucketMb * 1_048_576)
            let m = try timer.run(steps: steps, warmup: warmup, communicator: communicator)
            try MPILaunch.finish(communicator)
            guard communicator.rank == 0 else { return }
            let global = batchSize * m.worldSize
            let samplesPerSecond = Double(global) / m.secondsPerStep
            let peakMB = Double(m.peakResidentBytes.max() ?? 0) / 1_048_576
            guard let config else {
                print(String(format: "%@ (%@): %d rank(s) x batch %d, BLAS threads %d: %.3f s/step, %.1f samples/s, exposed comm %.1f%%, peak RSS %.0f MB per rank, loss %.4f",
                             model, self.task, m.worldSize, batchSize, BLAS.threads, m.secondsPerStep, samplesPerSecond, 100 * m.exposedCommunication,
                             peakMB, m.loss))
                if json {
                    let object: [String: Any] = ["model": model, "task": self.task, "ranks": m.worldSize, "batch_per_rank": batchSize,
                                                 "blas_threads": BLAS.threads, "seconds_per_step": m.secondsPerStep, "samples_per_s": samplesPerSecond,
                                                 "exposed_comm_fraction": m.exposedCommunication, "peak_rss_mb": peakMB, "loss": m.loss]
                    print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
                }
                return
            }
            let gflopsPerRank = 6 * forwardMACs * Double(batchSize) / m.secondsPerStep / 1e9
            let sgemm = m.sgemmGFLOPS
            // The same rate counting the architecture's full FLOPs (every block on every token), as OpenCLIP computes.
            let architectureRatio = m.gflopsVsSgemm * config.architectureMACsPerSample / forwardMACs
            print(String(format: "%@: %d rank(s) x batch %d, BLAS threads %d: %.3f s/step, %.1f samples/s, %.1f GFLOP/s per rank (sgemm %.1f; ratio %.2f, %.2f counting the full architecture's FLOPs), exposed comm %.1f%%, peak RSS %.0f MB per rank, loss %.4f",
                         model, m.worldSize, batchSize, BLAS.threads, m.secondsPerStep, samplesPerSecond, gflopsPerRank, sgemm,
                         m.gflopsVsSgemm, architectureRatio, 100 * m.exposedCommunication, peakMB, m.loss))
            if json {
                let object: [String: Any] = ["model": model, "ranks": m.worldSize, "batch_per_rank": batchSize, "blas_threads": BLAS.threads,
                                             "seconds_per_step": m.secondsPerStep, "samples_per_s": samplesPerSecond,
                                             "gflops_per_rank": gflopsPerRank, "sgemm_gflops": sgemm, "gflops_vs_sgemm": m.gflopsVsSgemm,
                                             "architecture_gflops_vs_sgemm": architectureRatio,
                                             "exposed_comm_fraction": m.exposedCommunication, "peak_rss_mb": peakMB, "loss": m.loss,
                                             "forward_macs_per_sample": forwardMACs]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            }
        }
    }
}
