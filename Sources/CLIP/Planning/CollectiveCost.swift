import Distributed

/// Time of MPI collectives under the α–β model: each message costs `latency + bytes × max(1 / bandwidth, cpuPerByte)`.
/// `cpuPerByte` is the sending rank's own CPU per byte (copies, reduction, bf16 rounding, the TCP stack). MPI moves a
/// large message in fragments, so the CPU work on one fragment runs while the previous one is on the wire: the slower
/// of the two sets the pace, they do not add up (docs/scaling-model.md, "The CPU cost of communication").
///
/// Ring algorithms throughout, as Open MPI and NCCL use for large messages: with W ranks the data moves in
/// W − 1 steps of size/W each (all-gather, reduce-scatter), or twice that (all-reduce = reduce-scatter +
/// all-gather). The ring's latency term grows linearly with W; for small messages MPI libraries switch to
/// recursive doubling (log₂ W steps), so these times are upper bounds at very large W.
public enum CollectiveCost {
    /// All-gather of `totalBytes` (the size of the gathered result) over `ranks` ranks:
    /// (W − 1)·α + (W − 1)/W · size/β. Zero for one rank.
    public static func ringAllGather(totalBytes: Double, ranks: Int, bandwidth: Double, latency: Double,
                                     cpuPerByte: Double = 0) -> Double {
        guard ranks > 1 else { return 0 }
        let w = Double(ranks)
        return (w - 1) * latency + (w - 1) / w * totalBytes * secondsPerByte(bandwidth: bandwidth, cpuPerByte: cpuPerByte)
    }

    /// Seconds per byte a rank sends when its CPU work and the wire transfer are pipelined: the slower of the two.
    public static func secondsPerByte(bandwidth: Double, cpuPerByte: Double) -> Double {
        max(1 / bandwidth, cpuPerByte)
    }

    /// Reduce-scatter of a `totalBytes` buffer (each rank ends with its summed 1/W share): same cost as the all-gather.
    public static func ringReduceScatter(totalBytes: Double, ranks: Int, bandwidth: Double, latency: Double,
                                         cpuPerByte: Double = 0) -> Double {
        ringAllGather(totalBytes: totalBytes, ranks: ranks, bandwidth: bandwidth, latency: latency, cpuPerByte: cpuPerByte)
    }

    /// All-reduce of `bytes` per rank: 2(W − 1)·α + 2(W − 1)/W · size/β. Zero for one rank.
    public static func ringAllReduce(bytes: Double, ranks: Int, bandwidth: Double, latency: Double, cpuPerByte: Double = 0) -> Double {
        2 * ringAllGather(totalBytes: bytes, ranks: ranks, bandwidth: bandwidth, latency: latency, cpuPerByte: cpuPerByte)
    }
}
