/// Bounds-checked big-endian reads from a font file: every offset in an sfnt comes from the file itself, so a
/// truncated or forged table becomes an error naming the table instead of a crash.
struct FontBytes {
    let bytes: [UInt8]
    let path: String

    func check(_ offset: Int, _ count: Int, _ what: String) throws {
        guard offset >= 0, count >= 0, offset <= bytes.count - count else {
            throw EmojiDataError.malformedFont(path: path, reason: "\(what) at byte \(offset) (+\(count)) lies outside the file")
        }
    }

    func u8(_ offset: Int, _ what: String) throws -> UInt8 {
        try check(offset, 1, what)
        return bytes[offset]
    }

    func u16(_ offset: Int, _ what: String) throws -> UInt16 {
        try check(offset, 2, what)
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    func i16(_ offset: Int, _ what: String) throws -> Int16 { Int16(bitPattern: try u16(offset, what)) }

    func u32(_ offset: Int, _ what: String) throws -> UInt32 {
        try check(offset, 4, what)
        return UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    func int(_ offset: Int, _ what: String) throws -> Int { Int(try u32(offset, what)) }

    func slice(_ offset: Int, _ count: Int, _ what: String) throws -> [UInt8] {
        try check(offset, count, what)
        return Array(bytes[offset..<(offset + count)])
    }

    func malformed(_ reason: String) -> EmojiDataError { .malformedFont(path: path, reason: reason) }
}
