/// A fast 64-bit non-cryptographic hash of raw bytes, for comparing parameter replicas.
///
/// Four independent multiply-rotate lanes over 32-byte stripes keep it near memory bandwidth on
/// large buffers; a final avalanche makes every input bit affect every output bit.
public enum Checksum64 {
    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63

    /// Hashes `bytes` (any alignment); equal bytes give equal values on every machine.
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let count = bytes.count
        guard let base = bytes.baseAddress else { return avalanche(seed &+ prime4) }
        var offset = 0
        var lanes: (UInt64, UInt64, UInt64, UInt64) = (seed &+ prime1 &+ prime2, seed &+ prime2, seed, seed &- prime1)
        while offset + 32 <= count {
            lanes.0 = round(lanes.0, word(base, offset))
            lanes.1 = round(lanes.1, word(base, offset + 8))
            lanes.2 = round(lanes.2, word(base, offset + 16))
            lanes.3 = round(lanes.3, word(base, offset + 24))
            offset += 32
        }
        var h = rotate(lanes.0, 1) &+ rotate(lanes.1, 7) &+ rotate(lanes.2, 12) &+ rotate(lanes.3, 18)
        for lane in [lanes.0, lanes.1, lanes.2, lanes.3] { h = (h ^ round(0, lane)) &* prime1 &+ prime4 }
        h = h &+ UInt64(count)
        while offset + 8 <= count {
            h = rotate(h ^ round(0, word(base, offset)), 27) &* prime1 &+ prime4
            offset += 8
        }
        while offset < count {
            h = rotate(h ^ (UInt64(base.load(fromByteOffset: offset, as: UInt8.self)) &* prime3), 11) &* prime1
            offset += 1
        }
        return avalanche(h)
    }

    @inline(__always) private static func word(_ base: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(__always) private static func rotate(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    @inline(__always) private static func round(_ lane: UInt64, _ input: UInt64) -> UInt64 {
        rotate(lane &+ input &* prime2, 31) &* prime1
    }

    private static func avalanche(_ value: UInt64) -> UInt64 {
        var h = value
        h ^= h >> 33
        h = h &* prime2
        h ^= h >> 29
        h = h &* prime3
        h ^= h >> 32
        return h
    }
}
