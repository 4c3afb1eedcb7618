import Foundation

/// The text `swiftclip plan` prints: assumptions, one row per node count, and where communication takes over.
public enum PlanReport {
    public static func render(_ model: ScalingModel, modelName: String, nodeCounts: [Int]) -> String {
        let a = model.assumptions
        var out: [String] = []
        out.append(String(format: "model %@: %.2fM parameters, %.2f GFLOP per training sample (%@ × forward MACs), embed_dim %d",
                          modelName, Double(model.parameterCount) / 1e6, model.towerFLOPsPerSample / 1e9,
                          model.accumulationSteps > 1 ? "8" : "6", model.config.embedDim))
        out.append(String(format: "global batch %d, %d ranks/node, %.1f GFLOP/s per rank, network %.2f GB/s %.1f µs, shared memory %.2f GB/s %.1f µs",
                          model.globalBatch, a.ranksPerNode, a.flopsPerRank / 1e9, a.interNodeBandwidth / 1e9, a.interNodeLatency * 1e6,
                          a.intraNodeBandwidth / 1e9, a.intraNodeLatency * 1e6))
        out.append(String(format: "ring collectives%@; gradient buckets of %.0f MiB, %@ on the wire, %@; times per step in ms",
                          a.communicationCPUPerByte > 0 ? String(format: " costing %.2f ns of a rank's CPU per byte sent", a.communicationCPUPerByte * 1e9) : "",
                          a.bucketBytes / 1048576, a.gradientWireBytes == 4 ? "fp32" : "bf16",
                          a.overlapsGradientCommunication
                              ? String(format: "overlapping backward (%.0f%% of tower compute)", 100 * a.backwardShare)
                              : "all sent after backward")
                   + (model.accumulationSteps > 1 ? "; gradient caching over \(model.accumulationSteps) micro-batches" : ""))
        var wire: [String] = []
        if a.gradientWireBytes < 4, let b = a.bf16InterNodeBandwidth { wire.append(String(format: "bf16 averaging at %.3f GB/s", b / 1e9)) }
        if a.gradientWireBytes < 4, let c = a.bf16CommunicationCPUPerByte { wire.append(String(format: "%.2f ns of CPU per bf16 byte sent", c * 1e9)) }
        if a.computeThreadsPerRank > 0 {
            wire.append("\(a.computeThreadsPerRank) BLAS thread(s) per rank sharing their cores with the polling MPI thread while buckets are in flight")
        }
        if !wire.isEmpty { out.append(wire.joined(separator: "; ")) }
        out.append("")
        let header = ["nodes", "ranks", "local", "compute", "(loss)", "gather", "scatter", "allreduce", "exposed",
                      "comm cpu", "step", "samples/s", "eff%", "state GB", "activ GB", "loss GB", "comm>compute"]
        let widths = [6, 6, 6, 10, 9, 9, 9, 10, 9, 9, 10, 11, 6, 9, 9, 8, 13]
        func row(_ cells: [String]) -> String {
            zip(cells, widths).map { String(repeating: " ", count: max(0, $1 - $0.count)) + $0 }.joined()
        }
        out.append(row(header))
        let oneNode = model.estimate(nodes: 1)?.samplesPerSecond
        for nodes in nodeCounts {
            guard let e = model.estimate(nodes: nodes) else {
                out.append(row(["\(nodes)", "\(nodes * a.ranksPerNode)"]) + "   global batch \(model.globalBatch) does not split over \(nodes * a.ranksPerNode) ranks")
                continue
            }
            // Throughput against one node's, scaled perfectly to this many nodes.
            let efficiency = oneNode.map { 100 * e.samplesPerSecond / ($0 * Double(nodes)) } ?? .nan
            out.append(row([
                "\(nodes)", "\(e.ranks)", "\(e.localBatch)",
                ms(e.compute), ms(e.lossCompute), ms(e.featureAllGather), ms(e.featureGradientReduceScatter),
                ms(e.gradientAllReduce), ms(e.exposedCommunication), ms(e.gradientAllReduceHiddenCPU), ms(e.stepTime),
                String(format: "%.0f", e.samplesPerSecond), String(format: "%.0f", efficiency),
                gb(e.stateBytes), gb(e.activationBytes), gb(e.lossBytes), e.communicationDominates ? "yes" : "no",
            ]))
        }
        out.append("")
        if let crossover = model.communicationCrossover(nodeCounts: nodeCounts) {
            out.append("communication on the critical path exceeds compute from \(crossover) node(s) on: past there, more nodes buy little")
        } else {
            out.append("communication stays below compute for every node count shown")
        }
        return out.joined(separator: "\n")
    }

    /// `{"rows": [...]}` with each node count's estimate in seconds and bytes, for scripts that compare it with measurements.
    public static func json(_ model: ScalingModel, nodeCounts: [Int]) throws -> String {
        let rows: [[String: Any]] = nodeCounts.compactMap { nodes in
            guard let e = model.estimate(nodes: nodes) else { return nil }
            return ["nodes": e.nodes, "ranks": e.ranks, "local_batch": e.localBatch, "compute_seconds": e.compute,
                    "feature_all_gather_seconds": e.featureAllGather, "feature_reduce_scatter_seconds": e.featureGradientReduceScatter,
                    "gradient_all_reduce_seconds": e.gradientAllReduce, "gradient_all_reduce_exposed_seconds": e.gradientAllReduceExposed,
                    "gradient_all_reduce_hidden_cpu_seconds": e.gradientAllReduceHiddenCPU,
                    "exposed_comm_seconds": e.exposedCommunication, "step_seconds": e.stepTime, "samples_per_s": e.samplesPerSecond]
        }
        return String(decoding: try JSONSerialization.data(withJSONObject: ["rows": rows], options: [.sortedKeys]), as: UTF8.self)
    }

    static func ms(_ seconds: Double) -> String {
        String(format: seconds < 0.01 ? "%.3f" : (seconds < 10 ? "%.1f" : "%.0f"), seconds * 1000)
    }
    static func gb(_ bytes: Double) -> String { String(format: "%.2f", bytes / 1e9) }
}
