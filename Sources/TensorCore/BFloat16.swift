/// bfloat16: the upper half of a Float32's bits (sign, 8 exponent bits, 7 mantissa bits): the wire type of
/// `--grad-comm-dtype bf16`, a storage type of exported weights and of activations kept for backward.
public enum BFloat16 {
    /// Rounds to the nearest bfloat16, ties to even; NaN stays a (quiet) NaN with its sign, infinities stay
    /// infinite, values beyond the largest finite bfloat16 round to infinity, and subnormals round like any other value.
    /// Branch-free (a select for NaN), so that loops over it vectorise: the bulk forms below are such loops.
    @inline(__always)
    public static func round(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        // Adding 0x7FFF plus the lowest kept bit carries into the kept half exactly when the dropped half is above
        // one half, or equal to it with the kept half odd.
        let rounded = bits &+ 0x7FFF &+ ((bits &>> 16) & 1)
        let isNaN = bits & 0x7FFF_FFFF > 0x7F80_0000
        return UInt16(truncatingIfNeeded: (isNaN ? bits | 0x0040_0000 : rounded) &>> 16)
    }

    /// The Float32 with the same value (exact).
    @inline(__always)
    public static func widen(_ value: UInt16) -> Float { Float(bitPattern: UInt32(value) &<< 16) }

    // The bulk forms are plain loops over distinct source and destination buffers, which LLVM vectorises (AVX2: eight
    // lanes); a loop whose source and destination may be the same buffer runs scalar after LLVM's overlap check.

    /// `destination[i] = round(source[i])`.
    public static func round(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<UInt16>, count: Int) {
        for i in 0..<count { destination[i] = round(source[i]) }
    }

    /// `destination[i] = round(source[i] / divisor)`.
    public static func round(_ source: UnsafePointer<Float>, dividedBy divisor: Float,
                             into destination: UnsafeMutablePointer<UInt16>, count: Int) {
        for i in 0..<count { destination[i] = round(source[i] / divisor) }
    }

    /// `destination[i] = widen(source[i])`.
    public static func widen(_ source: UnsafePointer<UInt16>, into destination: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { destination[i] = widen(source[i]) }
    }

    /// Sums `contributions` bfloat16 segments of `count` values, segment c starting at `segments + c · stride` (one
    /// per rank, in rank order), in Float32 and in that order: `destination[k] = widen(s₀[k]) + widen(s₁[k]) + …`.
    /// Every rank that sums the same segments gets the same bits, whatever algorithm MPI would have chosen.
    public static func sumInFloat32(_ segments: UnsafePointer<UInt16>, contributions: Int, stride: Int, count: Int,
                                    into destination: UnsafeMutablePointer<Float>) {
        guard contributions > 0 else { return }
        widen(segments, into: destination, count: count)
        for c in 1..<contributions { add(segments + c * stride, into: destination, count: count) }
    }

    /// `destination[k] += widen(source[k])`.
    static func add(_ source: UnsafePointer<UInt16>, into destination: UnsafeMutablePointer<Float>, count: Int) {
        for k in 0..<count { destination[k] += widen(source[k]) }
    }
}
