/// The element type gradients travel in (`--grad-comm-dtype`).
public enum WirePrecision: String, CaseIterable, Sendable {
    /// Float32: the average is exact up to MPI's order of summation.
    case fp32
    /// bfloat16: half the bytes; each rank's share (gradient / world size) is rounded to bfloat16 before it is sent,
    /// and the shares are summed in Float32.
    case bf16

    /// Bytes per element on the wire.
    public var bytesPerElement: Int { self == .fp32 ? 4 : 2 }
}
