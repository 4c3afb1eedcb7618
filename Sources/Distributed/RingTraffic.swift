/// Bytes one rank sends in a ring collective. The same count turns a measured all-reduce time into a bus bandwidth
/// (nccl-tests' busbw: bytes sent per rank / time, the bandwidth each link sustains) and `swiftclip plan`'s bandwidth
/// back into a time, so a probe's figure and the planner's input mean the same thing.
public enum RingTraffic {
    /// All-reduce of a `bytes` buffer over `ranks` ranks (reduce-scatter then all-gather): 2 (W − 1) / W of the buffer.
    public static func allReduceBytesSent(bytes: Double, ranks: Int) -> Double {
        guard ranks > 1 else { return 0 }
        return 2 * Double(ranks - 1) / Double(ranks) * bytes
    }

    /// The trainer's bfloat16 averaging of a `bytes` wire buffer (`--grad-comm-dtype bf16`): an all-to-all sends all
    /// but this rank's own 1/W of the buffer, then an all-gather of the owned segments sends (W − 1)/W of it again.
    /// The same count as the all-reduce, so the two patterns' bus bandwidths compare directly.
    public static func bfloat16AverageBytesSent(bytes: Double, ranks: Int) -> Double {
        allReduceBytesSent(bytes: bytes, ranks: ranks)
    }
}
