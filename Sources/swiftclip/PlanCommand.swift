import ArgumentParser
import CLIP
import Distributed
import Foundation
import Training

/// `swiftclip plan`: predicts step time, communication and memory per rank of data-parallel training as nodes are added.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Predict per-step compute, communication and memory of data-parallel CLIP training for 1 to 1024 nodes.",
        discussion: "The model and its assumptions are described in docs/scaling-model.md.")

    @Option(name: .long, help: "Model name (cluster-configs/models) or config JSON path.")
    var model: String
    @Option(name: .long, help: "Global batch size (all ranks together).")
    var globalBatch: Int
    @Option(name: .long, help: "Show only this node count (default: 1, 2, 4, … up to --max-nodes).")
    var nodes: Int?
    @Option(name: .long, help: "Largest node count of the sweep.")
    var maxNodes = 1024
    @Option(name: .long, help: "MPI ranks per node.")
    var ranksPerNode = 1
    @Option(name: .long, help: ArgumentHelp(
        "Bandwidth per node and direction that MPI's all-reduce achieves between the nodes, GB/s (not the link's nominal rate).",
        discussion: "Measure it on the cluster with one rank per node: mpirun -np NODES --map-by ppr:1:node distributed-selftest "
            + "probe-allreduce --mib 8 prints the bus bandwidth to give here (the float32 collectives: feature gather, gradient all-reduce)."))
    var bandwidth = 12.5
    @Option(name: .long, help: ArgumentHelp(
        "Bus bandwidth of the bfloat16 gradient averaging (--grad-comm-dtype bf16) between the nodes, GB/s (default: --bandwidth).",
        discussion: "bf16 averaging is an all-to-all plus an all-gather, not an all-reduce; measure it the same way with "
            + "distributed-selftest probe-allreduce --mib 8 --wire bf16 (--mib: the float32 bucket, train's --bucket-mb)."))
    var bf16Bandwidth: Double?
    @Option(name: .long, help: "Network latency per message, µs.")
    var latency = 5.0
    @Option(name: .long, help: "Shared-memory bandwidth between ranks of one node, GB/s.")
    var intraNodeBandwidth = 20.0
    @Option(name: .long, help: "Measured single-rank training throughput of this model, samples/s (e.g. from bench-step); sets the compute rate.")
    var samplesPerSecondPerRank: Double?
    @Option(name: .long, help: "Sustained training GFLOP/s per rank (used when no measured throughput is given).")
    var gflopsPerRank = 50.0
    @Option(name: .customLong("bucket-mib"), help: "Gradient bucket size, MiB (train's --bucket-mb).")
    var bucketMiB = 8.0
    @Option(name: .long, help: "Element type of gradient communication, fp32 or bf16 (train's --grad-comm-dtype).")
    var gradCommDtype = WirePrecision.fp32
    @Option(name: .long, help: "Whether gradient buckets are all-reduced during backward (train's --overlap-comm).")
    var overlapComm = true
    @Option(name: .long, help: "CPU time of a rank per byte it sends in a collective, ns (measure with distributed-selftest bench-gradient-comm --wire fp32 on an unshaped link; 0 ignores it).")
    var commCpuNsPerByte = 0.0
    @Option(name: .customLong("bf16-comm-cpu-ns-per-byte"), help: "The same for the bfloat16 gradient averaging, ns (bench-gradient-comm --wire bf16; default: --comm-cpu-ns-per-byte).")
    var bf16CommCpuNsPerByte: Double?
    @Option(name: .long, help: "BLAS threads per rank; with it, an overlapped bucket's polling MPI thread takes 1/(N+1) of the rank's cores while in flight (0: only its CPU work).")
    var computeThreadsPerRank = 0
    @Flag(name: .long, help: "Also print one JSON object with every row on the last line.")
    var json = false
    @Option(name: .long, help: "Micro-batches per step with gradient caching (activations of one micro-batch at a time).")
    var accumFreq = 1
    @Option(name: .long, help: "Positions a caption fills on average, end-of-text token included (default: the context length); the text tower stops at each caption's end, so its gradients are final sooner.")
    var captionTokens: Int?

    func validate() throws {
        guard globalBatch > 0 else { throw ValidationError("--global-batch must be positive") }
        guard nodes.map({ $0 > 0 }) ?? true, maxNodes > 0, ranksPerNode > 0 else { throw ValidationError("node and rank counts must be positive") }
        guard accumFreq > 0 else { throw ValidationError("--accum-freq must be positive") }
        guard bandwidth > 0, bf16Bandwidth.map({ $0 > 0 }) ?? true, intraNodeBandwidth > 0, latency >= 0, gflopsPerRank > 0, bucketMiB > 0,
              commCpuNsPerByte >= 0, bf16CommCpuNsPerByte.map({ $0 >= 0 }) ?? true, computeThreadsPerRank >= 0 else {
            throw ValidationError("bandwidths, GFLOP/s and bucket size must be positive; latency, CPU per byte and --compute-threads-per-rank not negative")
        }
        if let s = samplesPerSecondPerRank, s <= 0 { throw ValidationError("--samples-per-second-per-rank must be positive") }
        if let c = captionTokens, c < 1 { throw ValidationError("--caption-tokens must be positive") }
    }

    func run() throws {
        let config = try ModelCatalog.config(model)
        if let c = captionTokens, c > config.text.contextLength {
            throw ValidationError("--caption-tokens \(c) exceeds \(model)'s context length \(config.text.contextLength)")
        }
        var assumptions = ClusterAssumptions()
        assumptions.ranksPerNode = ranksPerNode
        assumptions.interNodeBandwidth = bandwidth * 1e9
        assumptions.interNodeLatency = latency * 1e-6
        assumptions.intraNodeBandwidth = intraNodeBandwidth * 1e9
        assumptions.bucketBytes = bucketMiB * 1024 * 1024
        assumptions.flopsPerRank = gflopsPerRank * 1e9
        assumptions.gradientWireBytes = Double(gradCommDtype.bytesPerElement)
        assumptions.overlapsGradientCommunication = overlapComm
        assumptions.communicationCPUPerByte = commCpuNsPerByte * 1e-9
        assumptions.bf16InterNodeBandwidth = bf16Bandwidth.map { $0 * 1e9 }
        assumptions.bf16CommunicationCPUPerByte = bf16CommCpuNsPerByte.map { $0 * 1e-9 }
        assumptions.computeThreadsPerRank = computeThreadsPerRank
        var scaling = ScalingModel(config: config, globalBatch: globalBatch, assumptions: assumptions, accumulationSteps: accumFreq,
                                   captionTokens: captionTokens)
        if let measured = samplesPerSecondPerRank {
            assumptions.flopsPerRank = scaling.flopsPerRank(measuredSamplesPerSecond: measured)
            scaling = ScalingModel(config: config, globalBatch: globalBatch, assumptions: assumptions, accumulationSteps: accumFreq,
                                   captionTokens: captionTokens)
        }
        let counts = nodes.map { [$0] } ?? ScalingModel.powersOfTwo(upTo: maxNodes)
        print(PlanReport.render(scaling, modelName: model, nodeCounts: counts))
        if json { print(try PlanReport.json(scaling, nodeCounts: counts)) }
    }
}

extension WirePrecision: ExpressibleByArgument {}
