import Distributed
import NN

/// Hardware and algorithm assumptions of the scaling model (see docs/scaling-model.md).
public struct ClusterAssumptions: Sendable, Equatable {
    public var ranksPerNode = 1
    /// Network bandwidth per node and direction, bytes/s (12.5 GB/s = 100 Gb/s): best the bus bandwidth MPI's
    /// all-reduce achieves (`distributed-selftest probe-allreduce`), which can be well below the link's nominal rate.
    public var interNodeBandwidth = 12.5e9
    /// One message's network latency, seconds.
    public var interNodeLatency = 5e-6
    /// Shared-memory bandwidth between ranks of one node, bytes/s, and its latency.
    public var intraNodeBandwidth = 20e9
    public var intraNodeLatency = 1e-6
    /// Training FLOP/s one rank sustains (towers and loss).
    public var flopsPerRank = 50e9
    /// Gradient bucket size (the trainer's default --bucket-mb 8).
    public var bucketBytes = 8.0 * 1024 * 1024
    /// Share of the tower compute that is backward, during which gradient buckets can be all-reduced.
    public var backwardShare = 2.0 / 3.0
    /// Bytes per gradient element on the wire: 4 (fp32) or 2 (`--grad-comm-dtype bf16`).
    public var gradientWireBytes = 4.0
    /// Whether gradient buckets are all-reduced while backward runs (`--overlap-comm`); false exposes all of it.
    public var overlapsGradientCommunication = true
    /// Seconds of a rank's own CPU per byte it sends in a collective (copies, reduction, the TCP stack): measured with
    /// `distributed-selftest bench-gradient-comm --wire fp32` on an unshaped link. A collective runs at the slower of
    /// this and the bandwidth (the two are pipelined); when overlapped, it is still taken from compute (ranks × BLAS
    /// threads fill the cores).
    public var communicationCPUPerByte = 0.0
    /// The bfloat16 gradient averaging's own figures (`--grad-comm-dtype bf16`: an all-to-all and an all-gather of
    /// bfloat16, with rounding and widening, not an all-reduce): its bus bandwidth between nodes (`distributed-selftest
    /// probe-allreduce --wire bf16`) and CPU per byte sent (`bench-gradient-comm --wire bf16`); nil: the float32 ones.
    public var bf16InterNodeBandwidth: Double?
    public var bf16CommunicationCPUPerByte: Double?
    /// BLAS threads per rank, filling its cores. While a gradient bucket is in flight during backward, the rank's MPI
    /// thread polls and takes a core share like one more thread: backward and the collective's CPU work run at
    /// T / (T + 1). 0: communication takes no core beyond its CPU work (`communicationCPUPerByte` of what is hidden).
    public var computeThreadsPerRank = 0
    /// Logit tile budget of the loss, entries (ContrastiveLoss.defaultTileElements).
    public var lossTileElements = ContrastiveLoss.defaultTileElements

    public init() {}
}

/// Predicted time and memory of one data-parallel training step of a CLIP model at a given world size.
public struct StepEstimate: Sendable, Equatable {
    public var nodes: Int
    public var ranks: Int
    public var localBatch: Int
    // Seconds.
    public var towerCompute: Double
    public var lossCompute: Double
    public var featureAllGather: Double
    public var featureGradientReduceScatter: Double
    public var gradientAllReduce: Double
    public var gradientAllReduceHidden: Double
    /// What the hidden part of the gradient averaging costs backward: it runs on the cores backward uses (its CPU work,
    /// or, with `computeThreadsPerRank`, the polling MPI thread's core share for as long as buckets are in flight).
    public var gradientAllReduceHiddenCPU: Double
    /// Gradient buckets per step, grouped as the trainer groups them (`GradientBucketPlan`).
    public var gradientBuckets: Int
    // Bytes per rank.
    public var stateBytes: Double
    public var activationBytes: Double
    public var lossBytes: Double

    public var compute: Double { towerCompute + lossCompute }
    public var gradientAllReduceExposed: Double { gradientAllReduce - gradientAllReduceHidden }
    /// Communication on the critical path: the feature gather and its gradient's reduce-scatter sit between the
    /// towers and the loss, and only the gradient all-reduce can hide behind backward.
    public var exposedCommunication: Double { featureAllGather + featureGradientReduceScatter + gradientAllReduceExposed }
    public var stepTime: Double { compute + gradientAllReduceHiddenCPU + exposedCommunication }
    public var samplesPerSecond: Double { Double(ranks * localBatch) / stepTime }
    public var communicationDominates: Bool { exposedCommunication > compute }
}

/// The scaling model: per-step compute, communication and memory of data-parallel CLIP training as the world grows.
public struct ScalingModel: Sendable {
    public let config: CLIPConfig
    public let globalBatch: Int
    public let assumptions: ClusterAssumptions
    /// Micro-batches per step with gradient caching (`--accum-freq`): activations are held for one micro-batch
    /// at a time, at the price of a second, no-grad forward pass.
    public let accumulationSteps: Int
    /// Positions a caption fills on average, end-of-text token included; nil: the context length. The text tower stops at
    /// each caption's end, so short captions shrink its share of backward and its gradients become final sooner.
    public let captionTokens: Int?

    public init(config: CLIPConfig, globalBatch: Int, assumptions: ClusterAssumptions, accumulationSteps: Int = 1,
                captionTokens: Int? = nil) {
        self.config = config
        self.globalBatch = globalBatch
        self.assumptions = assumptions
        self.accumulationSteps = max(1, accumulationSteps)
        self.captionTokens = captionTokens
    }

    /// Training FLOPs per sample in the towers: forward MACs × 2 FLOPs × 3 (forward + backward ≈ 2 × forward),
    /// plus one more forward (× 2) when gradient caching recomputes the features.
    public var towerFLOPsPerSample: Double {
        Double(accumulationSteps > 1 ? 8 : 6) * config.forwardMACsPerSample
    }

    public var parameterCount: Int { ModelSize(config: config).parameterCount }

    /// The FLOP/s rate implied by a measured single-rank throughput (samples/s) of this model, measured without
    /// gradient caching (as `swiftclip bench-step` measures it).
    public func flopsPerRank(measuredSamplesPerSecond: Double) -> Double {
        measuredSamplesPerSecond * 6 * config.forwardMACsPerSample
    }

    /// Ring bandwidth and latency: a node-contiguous ring crosses the network once per node, so with several
    /// nodes each NIC carries one ring edge per direction and the slower of network and shared memory sets the pace.
    public func link(nodes: Int) -> (bandwidth: Double, latency: Double) {
        let a = assumptions
        if nodes <= 1 { return (a.intraNodeBandwidth, a.intraNodeLatency) }
        return (min(a.interNodeBandwidth, a.intraNodeBandwidth), max(a.interNodeLatency, a.intraNodeLatency))
    }

    /// The estimate for `nodes` nodes, nil when the global batch does not split evenly over the ranks.
    public func estimate(nodes: Int) -> StepEstimate? {
        let a = assumptions
        let ranks = nodes * a.ranksPerNode
        guard nodes > 0, ranks > 0, globalBatch % ranks == 0 else { return nil }
        let b = globalBatch / ranks
        let g = Double(globalBatch), d = Double(config.embedDim), p = Double(parameterCount)
        let (bandwidth, latency) = link(nodes: nodes)

        let towerCompute = Double(b) * towerFLOPsPerSample / a.flopsPerRank
        // Two directions of b × G logits, 2 FLOPs per MAC; backward twice forward.
        let lossCompute = 3 * 2 * 2 * Double(b) * g * d / a.flopsPerRank

        let featureBytes = 2 * g * d * 4  // image and text features of the global batch, float32
        let cpu = a.communicationCPUPerByte
        let gather = CollectiveCost.ringAllGather(totalBytes: featureBytes, ranks: ranks, bandwidth: bandwidth, latency: latency,
                                                  cpuPerByte: cpu)
        let scatter = CollectiveCost.ringReduceScatter(totalBytes: featureBytes, ranks: ranks, bandwidth: bandwidth,
                                                       latency: latency, cpuPerByte: cpu)
        // Buckets hold bucketBytes of float32 gradients whatever the wire type; bf16 halves what each one sends.
        let isBF16 = a.gradientWireBytes < 4
        let gradientBandwidth = isBF16 && nodes > 1 ? min(a.bf16InterNodeBandwidth ?? a.interNodeBandwidth, a.intraNodeBandwidth) : bandwidth
        let gradientCPUPerByte = isBF16 ? a.bf16CommunicationCPUPerByte ?? cpu : cpu
        let threads = Double(a.computeThreadsPerRank)
        let computeRate = threads > 0 ? threads / (threads + 1) : 1
        let sources = ModelSize(config: config, captionLengths: captionTokens.map { [Int](repeating: $0, count: b) }).gradientSources
        guard let plan = try? GradientBucketPlan(layout: GradientBucketPlan.packedLayout(parameterCounts: sources.map(\.elements)).layout,
                                                 bucketBytes: max(1, Int(a.bucketBytes))) else { return nil }
        let buckets = plan.buckets.map { bucket -> BucketTimeline.Bucket in
            let bytes = Double(bucket.elementCount) * a.gradientWireBytes
            func time(cpuPerByte: Double) -> Double {
                CollectiveCost.ringAllReduce(bytes: bytes, ranks: ranks, bandwidth: gradientBandwidth, latency: latency, cpuPerByte: cpuPerByte)
            }
            return .init(readyAfter: bucket.parameters.map { sources[$0].readyAfter }.max() ?? 1,
                         alone: time(cpuPerByte: gradientCPUPerByte), beside: time(cpuPerByte: gradientCPUPerByte / computeRate))
        }
        let gradients = buckets.reduce(0) { $0 + $1.alone }
        let window = a.backwardShare * towerCompute
        var hidden = 0.0, hiddenCPU = 0.0
        if a.overlapsGradientCommunication {
            let timeline = BucketTimeline(buckets: buckets, backward: window, computeRate: computeRate)
            hidden = max(0, gradients - timeline.waitAfterBackward)
            let gradientCPU = gradientCPUPerByte * RingTraffic.allReduceBytesSent(bytes: p * a.gradientWireBytes, ranks: ranks)
            hiddenCPU = threads > 0 ? timeline.backwardSeconds - window : (gradients > 0 ? gradientCPU * hidden / gradients : 0)
        }

        let tile = Double(max(1, min(globalBatch, a.lossTileElements / max(b, 1))))
        let lossBytes = 2 * featureBytes                // gathered features and their gradients
            + 2 * Double(b) * tile * 4                  // one logit tile and its gradient
        return StepEstimate(nodes: nodes, ranks: ranks, localBatch: b,
                            towerCompute: towerCompute, lossCompute: lossCompute,
                            featureAllGather: gather, featureGradientReduceScatter: scatter,
                            gradientAllReduce: gradients, gradientAllReduceHidden: hidden,
                            gradientAllReduceHiddenCPU: hiddenCPU, gradientBuckets: buckets.count,
                            stateBytes: 16 * p,  // parameters, gradients, AdamW first and second moments
                            activationBytes: Double((b + accumulationSteps - 1) / accumulationSteps)
                                * ModelSize(config: config).activationBytesPerSample,
                            lossBytes: lossBytes)
    }

    /// Node counts 1, 2, 4, … up to `maxNodes` (and `maxNodes` itself).
    public static func powersOfTwo(upTo maxNodes: Int) -> [Int] {
        var counts: [Int] = []
        var n = 1
        while n <= maxNodes {
            counts.append(n)
            n *= 2
        }
        if counts.last != maxNodes, maxNodes > 0 { counts.append(maxNodes) }
        return counts
    }

    /// The first node count in `nodeCounts` whose exposed communication exceeds its compute.
    public func communicationCrossover(nodeCounts: [Int]) -> Int? {
        nodeCounts.first { estimate(nodes: $0)?.communicationDominates == true }
    }
}
