import CLIP
import Foundation
import NN
import Optim
import TensorCore

/// Times data-parallel training steps (forward, global loss, backward with bucketed all-reduce, AdamW,
/// clamp) on random data with this process's collectives, for benchmarks and capacity checks.
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

    public let config: CLIPConfig
    public let batchPerRank: Int
    public var accumulation = 1
    /// Blocks per tower recomputed in backward (Int.max: all, as --grad-checkpointing).
    public var checkpointedBlocksPerTower = 0
    /// Blocks per tower that recompute their MLP hidden layer in backward.
    public var mlpRecomputedBlocksPerTower = 0
    /// Gradient bucket size for the all-reduce (--bucket-mb of a training run).
    public var bucketBytes = 8 << 20

    public init(config: CLIPConfig, batchPerRank: Int) {
        self.config = config
        self.batchPerRank = batchPerRank
    }

    /// Runs `warmup` untimed and `steps` timed steps.
    public func run(steps: Int, warmup: Int = 1, seed: UInt64 = 0, collectives: TrainerCollectives) throws -> Measurement {
        AllocatorPolicy.keepFreedMemory()
        let model = CLIPModel(config: config, seed: seed)
        model.checkpointedBlocksPerTower = checkpointedBlocksPerTower
        model.mlpRecomputedBlocksPerTower = mlpRecomputedBlocksPerTower
        let engine = StepEngine(model: model, collectives: collectives, hyperparameters: AdamW.Hyperparameters(), bucketBytes: bucketBytes)
        engine.accumulation = accumulation
        let data = RandomDataSource(config: config, batchPerRank: batchPerRank, rank: collectives.rank, worldSize: collectives.size,
                                    samplesPerEpoch: Int.max / 2, seed: seed)
        let trainable = [Bool](repeating: true, count: model.parameters.parameters.count)
        try collectives.broadcast(model.parameters.flatValues, root: 0)
        AllocatorPolicy.releaseFreedMemory()  // the model's initialisation temporaries, as a training run does
        var times: [Double] = [], waits: [Double] = [], loss = 0.0
        let flopsPerStep = 6 * forwardMACsPerSample * Double(batchPerRank)
        var sgemm: [Double] = [], ratios: [Double] = []
        for step in 0..<(warmup + steps) {
            if step >= warmup { sgemm.append(Self.referenceSgemm()) }
            let batch = data.next()
            try collectives.barrier()
            let start = DispatchTime.now().uptimeNanoseconds
            let outcome = try engine.step(images: batch.images, tokens: batch.tokens, trainable: trainable, learningRate: 5e-4)
            var elapsed = [Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9]
            var slowest = elapsed
            // The step takes as long as its slowest rank: all-reduce the per-rank maximum via a sum of one-hot slots.
            var all = [Double](repeating: 0, count: collectives.size)
            all[collectives.rank] = elapsed[0]
            try collectives.allReduceSum(&all)
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
        var rss = [Double](repeating: 0, count: collectives.size)
        rss[collectives.rank] = Double(Self.peakResidentBytes())
        try collectives.allReduceSum(&rss)
        return Measurement(secondsPerStep: Self.median(times), exposedCommunication: Self.median(waits), loss: loss,
                           peakResidentBytes: rss.map { Int($0) }, worldSize: collectives.size,
                           sgemmGFLOPS: Self.median(sgemm), gflopsVsSgemm: Self.median(ratios))
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
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

    /// Forward multiply-adds per sample the model computes, the basis of GFLOP/s figures (a training step is 3 × 2 × this).
    ///
    /// Each tower's last block computes queries, attention, its output projection and MLP for the pooled row only
    /// (`keepingRows`), so those products count once per sample, not once per token. `architectureMACsPerSample`
    /// counts them for every token.
    public var forwardMACsPerSample: Double { forwardMACs(lastBlockRowsPerSample: 1) }

    /// Forward multiply-adds per sample of the architecture computed in full, every block on every token: what
    /// OpenCLIP computes, and the count its GFLOP/s figures use (`shared/peer`: 2.863 GFLOP per clip-bench sample).
    public var architectureMACsPerSample: Double { forwardMACs(lastBlockRowsPerSample: nil) }

    private func forwardMACs(lastBlockRowsPerSample: Double?) -> Double {
        let v = config.vision, t = config.text, e = Double(config.embedDim)
        func tower(tokens: Double, layers: Int, width: Double, mlp: Double) -> Double {
            func block(rows: Double) -> Double {
                tokens * 2 * width * width                                        // k, v projections
                    + rows * (width * width + 2 * tokens * width)                   // q projection; q·k and p·v
                    + rows * (width * width + 2 * width * mlp)                      // out projection, MLP
            }
            guard layers > 0 else { return 0 }
            return Double(layers - 1) * block(rows: tokens) + block(rows: lastBlockRowsPerSample ?? tokens)
        }
        let (vt, tt) = (Double(v.tokens), Double(t.contextLength))
        return tower(tokens: vt, layers: v.layers, width: Double(v.width), mlp: Double(v.mlpWidth))
            + (vt - 1) * Double(3 * v.patchSize * v.patchSize * v.width) + Double(v.width) * e
            + tower(tokens: tt, layers: t.layers, width: Double(t.width), mlp: Double(t.mlpWidth)) + Double(t.width) * e
    }
}
