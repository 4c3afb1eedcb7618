/// A self-contained gzip (RFC 1952) / DEFLATE (RFC 1951) decoder for the tokenizer's merges files.
///
/// Written here rather than linking zlib so the library needs no extra system package or Package.swift target;
/// it only has to read a few megabytes once, so a simple canonical-Huffman decoder is fast enough.
enum GzipDecoder {
    struct Failure: Error { let reason: String }

    /// True when `bytes` starts with the gzip magic number.
    static func isGzip(_ bytes: [UInt8]) -> Bool { bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B }

    /// Decompresses every member of a gzip file and checks each member's CRC-32 and length.
    static func decompress(_ bytes: [UInt8]) throws -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count * 4)
        try bytes.withUnsafeBufferPointer { input in
            var offset = 0
            repeat {
                let memberStart = output.count
                offset = try skipHeader(input, at: offset)
                var reader = BitReader(input: input, byteOffset: offset)
                try inflate(&reader, into: &output)
                offset = reader.alignedByteOffset
                guard offset + 8 <= input.count else { throw Failure(reason: "truncated gzip trailer") }
                let expectedCRC = readLittleEndian32(input, at: offset)
                let expectedSize = readLittleEndian32(input, at: offset + 4)
                let member = output[memberStart...]
                guard CRC32.checksum(member) == expectedCRC else { throw Failure(reason: "gzip CRC-32 mismatch") }
                guard UInt32(truncatingIfNeeded: member.count) == expectedSize else {
                    throw Failure(reason: "gzip length mismatch")
                }
                offset += 8
                while offset < input.count, input[offset] == 0 { offset += 1 }  // tolerate zero padding
            } while offset < input.count
        }
        return output
    }

    private static func readLittleEndian32(_ input: UnsafeBufferPointer<UInt8>, at offset: Int) -> UInt32 {
        UInt32(input[offset]) | UInt32(input[offset + 1]) << 8 | UInt32(input[offset + 2]) << 16 | UInt32(input[offset + 3]) << 24
    }

    /// Returns the offset of the DEFLATE stream after the member header at `start`.
    private static func skipHeader(_ input: UnsafeBufferPointer<UInt8>, at start: Int) throws -> Int {
        guard start + 10 <= input.count, input[start] == 0x1F, input[start + 1] == 0x8B else {
            throw Failure(reason: "not a gzip file (bad magic number)")
        }
        guard input[start + 2] == 8 else { throw Failure(reason: "unsupported gzip compression method \(input[start + 2])") }
        let flags = input[start + 3]
        var offset = start + 10
        if flags & 0x04 != 0 {
            guard offset + 2 <= input.count else { throw Failure(reason: "truncated gzip header") }
            offset += 2 + (Int(input[offset]) | Int(input[offset + 1]) << 8)
        }
        for flag: UInt8 in [0x08, 0x10] where flags & flag != 0 {  // zero-terminated name, then comment
            while offset < input.count, input[offset] != 0 { offset += 1 }
            offset += 1
        }
        if flags & 0x02 != 0 { offset += 2 }
        guard offset < input.count else { throw Failure(reason: "truncated gzip header") }
        return offset
    }

    /// Least-significant-bit-first reader over the compressed bytes, refilled 64 bits at a time.
    struct BitReader {
        let input: UnsafeBufferPointer<UInt8>
        var byteOffset: Int
        var bitBuffer: UInt64 = 0
        var bitCount = 0

        init(input: UnsafeBufferPointer<UInt8>, byteOffset: Int) {
            self.input = input
            self.byteOffset = byteOffset
        }

        @inline(__always) mutating func refill() {
            while bitCount <= 56, byteOffset < input.count {
                bitBuffer |= UInt64(input[byteOffset]) << UInt64(bitCount)
                byteOffset += 1
                bitCount += 8
            }
        }

        /// The next `count` bits without consuming them (zeros past the end of the input).
        @inline(__always) mutating func peek(_ count: Int) -> Int {
            if bitCount < count { refill() }
            return Int(bitBuffer & ((1 << UInt64(count)) - 1))
        }

        @inline(__always) mutating func consume(_ count: Int) throws {
            guard count <= bitCount else { throw Failure(reason: "truncated DEFLATE stream") }
            bitBuffer >>= UInt64(count)
            bitCount -= count
        }

        @inline(__always) mutating func bits(_ count: Int) throws -> Int {
            let value = peek(count)
            try consume(count)
            return value
        }

        /// Drops the bits left in the current byte and returns buffered whole bytes to the input.
        var alignedByteOffset: Int { byteOffset - bitCount / 8 }

        mutating func alignToByte() {
            byteOffset = alignedByteOffset
            bitBuffer = 0
            bitCount = 0
        }
    }

    /// Canonical Huffman code with a direct lookup table for codes of up to `tableBits` bits.
    struct Huffman {
        static let tableBits = 9
        var counts = [Int](repeating: 0, count: 16)
        var symbols: [Int]
        /// Indexed by the next `tableBits` input bits: symbol << 4 | code length, or 0 for longer codes.
        var table = [UInt16](repeating: 0, count: 1 << tableBits)

        init(lengths: [Int]) throws {
            symbols = []
            for length in lengths { counts[length] += 1 }
            counts[0] = 0
            var left = 1
            for length in 1...15 {
                left = left * 2 - counts[length]
                guard left >= 0 else { throw Failure(reason: "over-subscribed Huffman code") }
            }
            var offsets = [Int](repeating: 0, count: 16)
            for length in 1..<15 { offsets[length + 1] = offsets[length] + counts[length] }
            symbols = [Int](repeating: 0, count: lengths.count)
            for (symbol, length) in lengths.enumerated() where length != 0 {
                symbols[offsets[length]] = symbol
                offsets[length] += 1
            }
            // Codes are sent most-significant bit first, so the table is indexed by the bit-reversed code.
            var code = 0, index = 0
            for length in 1...15 {
                for _ in 0..<counts[length] {
                    if length <= Self.tableBits {
                        var reversed = 0
                        for bit in 0..<length where code & (1 << bit) != 0 { reversed |= 1 << (length - 1 - bit) }
                        var fill = reversed
                        while fill < 1 << Self.tableBits {
                            table[fill] = UInt16(symbols[index] << 4 | length)
                            fill += 1 << length
                        }
                    }
                    code += 1
                    index += 1
                }
                code <<= 1
            }
        }

        @inline(__always) func decode(_ reader: inout BitReader) throws -> Int {
            let entry = Int(table[reader.peek(Self.tableBits)])
            if entry != 0 {
                try reader.consume(entry & 0xF)
                return entry >> 4
            }
            return try decodeSlowly(&reader)
        }

        private func decodeSlowly(_ reader: inout BitReader) throws -> Int {
            var code = 0, first = 0, index = 0
            for length in 1...15 {
                code |= try reader.bits(1)
                let count = counts[length]
                if code - count < first { return symbols[index + (code - first)] }
                index += count
                first = (first + count) << 1
                code <<= 1
            }
            throw Failure(reason: "invalid Huffman code in DEFLATE stream")
        }
    }

    private static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    private static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    private static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    private static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
    private static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    private static let fixedCodes: (Huffman, Huffman) = {
        var lengths = [Int](repeating: 8, count: 288)
        for symbol in 144..<256 { lengths[symbol] = 9 }
        for symbol in 256..<280 { lengths[symbol] = 7 }
        return (try! Huffman(lengths: lengths), try! Huffman(lengths: [Int](repeating: 5, count: 30)))
    }()

    static func inflate(_ reader: inout BitReader, into output: inout [UInt8]) throws {
        var isLastBlock = false
        while !isLastBlock {
            isLastBlock = try reader.bits(1) == 1
            switch try reader.bits(2) {
            case 0: try copyStoredBlock(&reader, into: &output)
            case 1: try inflateBlock(&reader, codes: fixedCodes, into: &output)
            case 2: try inflateBlock(&reader, codes: readDynamicCodes(&reader), into: &output)
            default: throw Failure(reason: "invalid DEFLATE block type")
            }
        }
    }

    private static func copyStoredBlock(_ reader: inout BitReader, into output: inout [UInt8]) throws {
        reader.alignToByte()
        let start = reader.byteOffset
        guard start + 4 <= reader.input.count else { throw Failure(reason: "truncated stored block") }
        let length = Int(reader.input[start]) | Int(reader.input[start + 1]) << 8
        let check = Int(reader.input[start + 2]) | Int(reader.input[start + 3]) << 8
        guard length == ~check & 0xFFFF else { throw Failure(reason: "corrupt stored block length") }
        guard start + 4 + length <= reader.input.count else { throw Failure(reason: "truncated stored block") }
        output.append(contentsOf: reader.input[(start + 4)..<(start + 4 + length)])
        reader.byteOffset = start + 4 + length
    }

    private static func readDynamicCodes(_ reader: inout BitReader) throws -> (Huffman, Huffman) {
        let literalCount = try reader.bits(5) + 257
        let distanceCount = try reader.bits(5) + 1
        let codeLengthCount = try reader.bits(4) + 4
        var codeLengthLengths = [Int](repeating: 0, count: 19)
        for index in 0..<codeLengthCount { codeLengthLengths[codeLengthOrder[index]] = try reader.bits(3) }
        let codeLengthCode = try Huffman(lengths: codeLengthLengths)
        var lengths: [Int] = []
        lengths.reserveCapacity(literalCount + distanceCount)
        while lengths.count < literalCount + distanceCount {
            let symbol = try codeLengthCode.decode(&reader)
            switch symbol {
            case 0...15: lengths.append(symbol)
            case 16:
                guard let previous = lengths.last else { throw Failure(reason: "repeat with no previous length") }
                lengths.append(contentsOf: repeatElement(previous, count: 3 + (try reader.bits(2))))
            case 17: lengths.append(contentsOf: repeatElement(0, count: 3 + (try reader.bits(3))))
            default: lengths.append(contentsOf: repeatElement(0, count: 11 + (try reader.bits(7))))
            }
        }
        guard lengths.count == literalCount + distanceCount else { throw Failure(reason: "too many code lengths") }
        return (try Huffman(lengths: Array(lengths[0..<literalCount])), try Huffman(lengths: Array(lengths[literalCount...])))
    }

    private static func inflateBlock(_ reader: inout BitReader, codes: (Huffman, Huffman), into output: inout [UInt8]) throws {
        while true {
            let symbol = try codes.0.decode(&reader)
            if symbol < 256 {
                output.append(UInt8(symbol))
            } else if symbol == 256 {
                return
            } else {
                let lengthIndex = symbol - 257
                guard lengthIndex < lengthBase.count else { throw Failure(reason: "invalid length symbol") }
                let length = lengthBase[lengthIndex] + (try reader.bits(lengthExtra[lengthIndex]))
                let distanceSymbol = try codes.1.decode(&reader)
                guard distanceSymbol < distanceBase.count else { throw Failure(reason: "invalid distance symbol") }
                let distance = distanceBase[distanceSymbol] + (try reader.bits(distanceExtra[distanceSymbol]))
                guard distance <= output.count else { throw Failure(reason: "distance too far back") }
                let start = output.count - distance
                // Byte by byte: the source may overlap what is being written, and appending a slice of
                // `output` to itself would copy the whole array.
                for offset in 0..<length { output.append(output[start + offset]) }
            }
        }
    }
}

/// CRC-32 (IEEE 802.3, reflected), as gzip uses.
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index -> UInt32 in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 != 0 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { table in
            for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        }
        return ~crc
    }
}
