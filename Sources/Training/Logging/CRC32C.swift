/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of TFRecord framing.
///
/// Slice-by-8: eight 256-entry tables let the loop consume eight bytes per iteration.
public enum CRC32C {
    /// Eight 256-entry tables back to back: table k maps a byte to its CRC after k further zero bytes.
    static let table: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            table[byte] = crc
        }
        for k in 1..<8 {
            for byte in 0..<256 {
                let previous = table[(k - 1) * 256 + byte]
                table[k * 256 + byte] = (previous >> 8) ^ table[Int(previous & 0xFF)]
            }
        }
        return table
    }()

    /// The CRC-32C of `bytes`, continuing from `crc` (the CRC of earlier bytes, 0 to start).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        var state = ~crc
        return table.withUnsafeBufferPointer { t -> UInt32 in
            let count = bytes.count
            guard count > 0, let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return crc }
            var i = 0
            while i + 8 <= count {
                let lo = state ^ (UInt32(base[i]) | UInt32(base[i + 1]) << 8 | UInt32(base[i + 2]) << 16 | UInt32(base[i + 3]) << 24)
                let hi = UInt32(base[i + 4]) | UInt32(base[i + 5]) << 8 | UInt32(base[i + 6]) << 16 | UInt32(base[i + 7]) << 24
                state = t[7 * 256 + Int(lo & 0xFF)] ^ t[6 * 256 + Int((lo >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((lo >> 16) & 0xFF)] ^ t[4 * 256 + Int(lo >> 24)]
                    ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
                i += 8
            }
            while i < count {
                state = (state >> 8) ^ t[Int((state ^ UInt32(base[i])) & 0xFF)]
                i += 1
            }
            return ~state
        }
    }

    /// The CRC-32C of a byte array.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// TFRecord's masked CRC: rotate right by 15 bits and add a constant, so that CRCs of data containing CRCs stay strong.
    public static func masked(_ crc: UInt32) -> UInt32 {
        ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}
