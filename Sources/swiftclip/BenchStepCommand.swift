import ArgumentParser
import CLIP
import Foundation
import TensorCore
import Training

/// `swiftclip bench-step`: times single-process training steps with a phase breakdown.
struct BenchStepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-step",
        abstract: "Time single-process training steps (forward, loss, backward, AdamW) of a model on random data.")

    @Option(name: .long, help: "Model name (cluster-configs/models) or config JSON path.")
    var model = "clip-bench"
    @Option(name: .long, help: "Batch size.")
    var batchSize = 128
    @Option(name: .long, help: "Timed steps.")
    var steps = 3

    func run() throws {
        let config = try ModelCatalog.config(model)
        let timer = StepTimer(config: config, batch: batchSize)
        let phases = timer.run(steps: steps)
        let flops = 6 * timer.forwardMACsPerSample * Double(batchSize)
        for (i, p) in phases.enumerated() {
            print(String(format: "step %d: %.3f s (forward %.3f, loss %.3f, backward %.3f, adamw %.3f)  %.1f samples/s  %.1f GFLOP/s",
                         i, p.total, p.forward, p.loss, p.backward, p.optimizer, Double(batchSize) / p.total, flops / p.total / 1e9))
        }
        print("BLAS threads: \(BLAS.threads)")
    }
}
