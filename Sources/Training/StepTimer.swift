import Distributed
import Foundation
import NN
import Optim
import TensorCore
import TrainingKit

/// Times data-parallel training steps of any family (forward, global loss, backward with bucketed all-reduce, AdamW,
/// post-step hook) on the data given (random data, for benchmarks and capacity checks) with this process's communicator.
public struct StepTimer {
    public struct Measurement: Sendable {
        /// Median seconds per step over the timed steps (slowest rank).
        public var secondsPerStep: Double
        /// Fraction of the step this rank waited for gradient all-reduce after backward (median).
        public var exposedCommunication: Double
        public var loss: Double
        /// Peak resident memory of each rank in bytes.
        public var peakResidentBytes: [Int]
        public var worldSize: Int
        /// This rank's raw sgemm GFLOP/s around the timed steps (median of the measurements between steps).
        public var sgemmGFLOPS: Double
        /// Median over timed steps of the step's GFLOP/s per rank divided by the sgemm rate measured right before
        /// and right after that step: the machine's speed drifts, so the reference is taken at the same moment.
        public var gflopsVsSgemm: Double
    }

    public let task: TrainingTask
    public let data: TrainingDataSource
    public let batchPerRank: Int
    /// Forward multiply-adds per sample the task computes (a training step is 3 × 2 × this), the basis of GFLOP/s.
    public let forwardMACsPerSample: Double
    public var accumulation = 1
    /// Gradient bucket size for the all-reduce (--bucket-mb of a training run).
    public var bucketBytes = 8 << 20
    /// How activations are kept for backward (--activation-dtype of a training run).
    public var activationPrecision = ActivationPrecision.fp32

    public init(task: TrainingTask, data: TrainingDataSource, batchPerRank: Int, forwardMACsPerSample: Double) {
        self.task = task
        self.data = data
        self.batchPerRank = batchPerRank
        self.forwardMACsPerSample = forwardMACsPerSample
    }

    /// Runs `warmup` untimed and `steps` timed steps.
    /// The caller sets `AllocatorPolicy.keepFreedMemory()` before building the task, as a training run does.
    public func run(steps: Int, warmup: Int = 1, communicator: Communicator) throws -> Measurement {
        let engine = try StepEngine(task: task, communicator: communicator, hyperparameters: AdamW.Hyperparameters(), bucketBytes: bucketBytes)
        engine.accumulation = accumulation
        engine.activationPrecision = activationPrecision
        let trainable = [Bool](repeating: true, count: task.parameters.parameters.count)
        try communicator.broadcast(task.parameters.flatValues, root: 0)
        AllocatorPolicy.releaseFreedMemory()  // the model's initialisation temporaries, as a training run does
        var times: [Double] = [], waits: [Double] = [], loss = 0.0
        let flopsPerStep = 6 * forwardMACsPerSample * Double(batchPerRank)
        var sgemm: [Double] = [], ratios: [Double] = []
        for step in 0..<(warmup + steps) {
            if step >= warmup { sgemm.append(Self.referenceSgemm()) }
            let batch = try data.next()
            try communicator.barrier()
            let start = DispatchTime.now().uptimeNanoseconds
            let outcome = try engine.step(batch, trainable: trainable, learningRate: 5e-4)
            var elapsed = [Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9]
            var slowest = elapsed
            // The step takes as long as its slowest rank: all-reduce the per-rank maximum via a sum of one-hot slots.
            var all = [Double](repeating: 0, count: communicator.size)
            all[communicator.rank] = elapsed[0]
            try communicator.allReduce(&all, .sum)
            slowest = [all.max() ?? elapsed[0]]
            elapsed = slowest
            if step >= warmup {
                let after = Self.referenceSgemm()
                ratios.append(flopsPerStep / elapsed[0] / 1e9 / ((sgemm.last! + after) / 2))
                if step == warmup + steps - 1 { sgemm.append(after) }
                times.append(elapsed[0])
                waits.append(outcome.communicationWait / max(elapsed[0], 1e-9))
                loss = outcome.loss
            }
        }
        var rss = [Double](repeating: 0, count: communicator.size)
        rss[communicator.rank] = Double(Self.peakResidentBytes())
        try communicator.allReduce(&rss, .sum)
        return Measurement(secondsPerStep: times.median, exposedCommunication: waits.median, loss: loss,
                           peakResidentBytes: rss.map { Int($0) }, worldSize: communicator.size,
                           sgemmGFLOPS: sgemm.median, gflopsVsSgemm: ratios.median)
    }

    /// Peak resident set size of this process (getrusage's ru_maxrss, in kilobytes on Linux).
    public static func peakResidentBytes() -> Int {
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_maxrss * 1024
    }

    /// The reference rate: sgemm on a 4096×256×1024 product, the shape of the model's MLP products.
    public static func referenceSgemm() -> Double { sgemmGFLOPS(m: 4096, k: 256, n: 1024, repeats: 3) }

    /// Raw `cblas_sgemm` GFLOP/s on shapes like the model's MLP products, for ratios measured in the same run.
    public static func sgemmGFLOPS(m: Int, k: Int, n: Int, repeats: Int = 5) -> Double {
        let a = TensorStorage(zeros: m * k), b = TensorStorage(zeros: k * n), c = TensorStorage(zeros: m * n)
        for i in 0..<(m * k) { a.pointer[i] = Float(i % 7) * 0.01 }
        for i in 0..<(k * n) { b.pointer[i] = Float(i % 5) * 0.01 }
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            BLAS.gemm(transposeA: false, transposeB: true, m: m, n: n, k: k, a: a.pointer, lda: k, b: b.pointer, ldb: k, c: c.pointer, ldc: n)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return 2 * Double(m) * Double(k) * Double(n) / best / 1e9
    }
}
