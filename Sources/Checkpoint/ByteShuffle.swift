/// The byte-plane filter that Blosc and HDF5 call "shuffle", specialised for 4-byte elements.
///
/// Float32 weights share sign and exponent bytes far more than mantissa bytes; storing byte 0 of every
/// element, then byte 1, and so on groups the repetitive bytes so zstd finds long matches there.
enum ByteShuffle {
    /// Splits `count` 4-byte elements at `source` into four planes of `count` bytes at `destination`.
    static func shuffle4(_ source: UnsafeRawPointer, into destination: UnsafeMutableRawPointer, count: Int) {
        let plane0 = destination.assumingMemoryBound(to: UInt8.self)
        let plane1 = plane0 + count
        let plane2 = plane1 + count
        let plane3 = plane2 + count
        var index = 0
        // Eight elements per step so each plane receives one 8-byte store instead of eight 1-byte stores.
        while index + 8 <= count {
            var lane0: UInt64 = 0, lane1: UInt64 = 0, lane2: UInt64 = 0, lane3: UInt64 = 0
            for k in 0..<8 {
                let word = UInt64(source.loadUnaligned(fromByteOffset: (index + k) &* 4, as: UInt32.self))
                let shift = UInt64(k &* 8)
                lane0 |= (word & 0xFF) << shift
                lane1 |= ((word >> 8) & 0xFF) << shift
                lane2 |= ((word >> 16) & 0xFF) << shift
                lane3 |= (word >> 24) << shift
            }
            UnsafeMutableRawPointer(plane0 + index).storeBytes(of: lane0.littleEndian, as: UInt64.self)
            UnsafeMutableRawPointer(plane1 + index).storeBytes(of: lane1.littleEndian, as: UInt64.self)
            UnsafeMutableRawPointer(plane2 + index).storeBytes(of: lane2.littleEndian, as: UInt64.self)
            UnsafeMutableRawPointer(plane3 + index).storeBytes(of: lane3.littleEndian, as: UInt64.self)
            index &+= 8
        }
        while index < count {
            let word = source.loadUnaligned(fromByteOffset: index &* 4, as: UInt32.self)
            plane0[index] = UInt8(truncatingIfNeeded: word)
            plane1[index] = UInt8(truncatingIfNeeded: word >> 8)
            plane2[index] = UInt8(truncatingIfNeeded: word >> 16)
            plane3[index] = UInt8(truncatingIfNeeded: word >> 24)
            index &+= 1
        }
    }

    /// Inverse of `shuffle4`: interleaves four planes of `count` bytes back into 4-byte elements.
    static func unshuffle4(_ source: UnsafeRawPointer, into destination: UnsafeMutableRawPointer, count: Int) {
        let plane0 = source.assumingMemoryBound(to: UInt8.self)
        let plane1 = plane0 + count
        let plane2 = plane1 + count
        let plane3 = plane2 + count
        var index = 0
        while index + 8 <= count {
            let lane0 = UInt64(littleEndian: UnsafeRawPointer(plane0 + index).loadUnaligned(as: UInt64.self))
            let lane1 = UInt64(littleEndian: UnsafeRawPointer(plane1 + index).loadUnaligned(as: UInt64.self))
            let lane2 = UInt64(littleEndian: UnsafeRawPointer(plane2 + index).loadUnaligned(as: UInt64.self))
            let lane3 = UInt64(littleEndian: UnsafeRawPointer(plane3 + index).loadUnaligned(as: UInt64.self))
            for k in 0..<8 {
                let shift = UInt64(k &* 8)
                let word = ((lane0 >> shift) & 0xFF)
                    | (((lane1 >> shift) & 0xFF) << 8)
                    | (((lane2 >> shift) & 0xFF) << 16)
                    | (((lane3 >> shift) & 0xFF) << 24)
                destination.storeBytes(of: UInt32(truncatingIfNeeded: word), toByteOffset: (index + k) &* 4, as: UInt32.self)
            }
            index &+= 8
        }
        while index < count {
            let word = UInt32(plane0[index])
                | (UInt32(plane1[index]) << 8)
                | (UInt32(plane2[index]) << 16)
                | (UInt32(plane3[index]) << 24)
            destination.storeBytes(of: word, toByteOffset: index &* 4, as: UInt32.self)
            index &+= 1
        }
    }
}
