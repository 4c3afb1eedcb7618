/// The element type Float32 values are stored in on disk (exported weights, inference checkpoints): float32 as it is,
/// or a 16-bit type each value is rounded to (nearest, ties to even). Computation always widens back to Float32.
public enum StorageDType: String, CaseIterable, Sendable, Codable {
    case f32, bf16, f16

    /// Bytes per stored value.
    public var byteWidth: Int { self == .f32 ? 4 : 2 }

    /// The safetensors `dtype` string (`F32`, `BF16`, `F16`), which PyTorch's loaders read.
    public var safetensorsName: String {
        switch self {
        case .f32: return "F32"
        case .bf16: return "BF16"
        case .f16: return "F16"
        }
    }

    /// The name a SwiftCLIP checkpoint's tensor table records (`float32`, `bfloat16`, `float16`).
    public var longName: String {
        switch self {
        case .f32: return "float32"
        case .bf16: return "bfloat16"
        case .f16: return "float16"
        }
    }

    public init?(longName: String) {
        guard let match = Self.allCases.first(where: { $0.longName == longName }) else { return nil }
        self = match
    }

    public init?(safetensorsName: String) {
        guard let match = Self.allCases.first(where: { $0.safetensorsName == safetensorsName }) else { return nil }
        self = match
    }

    /// The value `value` becomes once stored and read back.
    @inline(__always)
    public func rounded(_ value: Float) -> Float {
        switch self {
        case .f32: return value
        case .bf16: return BFloat16.widen(BFloat16.round(value))
        case .f16: return Float(Float16(value))
        }
    }

    /// Writes `count` values from `source` as little-endian values of this type to `destination` (`count · byteWidth`
    /// bytes). Returns the index of the first finite value too large for the type (stored as infinity), or nil.
    public func encode(_ source: UnsafePointer<Float>, count: Int, into destination: UnsafeMutableRawPointer) -> Int? {
        var overflow: Int?
        switch self {
        case .f32:
            destination.copyMemory(from: source, byteCount: count * 4)
        case .bf16:
            let out = destination.assumingMemoryBound(to: UInt16.self)
            BFloat16.round(source, into: out, count: count)
            overflow = (0..<count).first { out[$0] & 0x7FFF == 0x7F80 && source[$0].isFinite }
            for i in 0..<count { out[i] = out[i].littleEndian }
        case .f16:
            let out = destination.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count {
                let stored = Float16(source[i])
                out[i] = stored.bitPattern.littleEndian
                if overflow == nil, stored.isInfinite, source[i].isFinite { overflow = i }
            }
        }
        return overflow
    }

    /// Reads `count` little-endian values of this type from `source` into Float32 (exact).
    public func decode(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>) {
        switch self {
        case .f32:
            UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 4)
        case .bf16:
            if (Int(bitPattern: source) & 1) == 0 && UInt16(1).littleEndian == 1 {
                BFloat16.widen(source.assumingMemoryBound(to: UInt16.self), into: destination, count: count)
            } else {
                for i in 0..<count { destination[i] = BFloat16.widen(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            }
        case .f16:
            for i in 0..<count {
                destination[i] = Float(Float16(bitPattern: UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
            }
        }
    }
}
