import Foundation

/// An sfnt (TrueType / OpenType) font file: its table directory and the tables a colour-bitmap emoji font needs.
public struct SFNTFont {
    let file: FontBytes
    /// Table tag -> (offset, length) in the file.
    public let tables: [String: (offset: Int, length: Int)]

    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EmojiDataError.malformedFont(path: path, reason: "cannot read the file")
        }
        try self.init(bytes: [UInt8](data), path: path)
    }

    public init(bytes: [UInt8], path: String) throws {
        file = FontBytes(bytes: bytes, path: path)
        let version = try file.u32(0, "sfnt header")
        guard version == 0x0001_0000 || version == 0x7472_7565 || version == 0x4F54_544F else {
            throw file.malformed(version == 0x7474_6366 ? "a font collection (ttcf), not a single font" : "not an sfnt font (version tag \(version))")
        }
        let count = Int(try file.u16(4, "table count"))
        var tables: [String: (Int, Int)] = [:]
        for i in 0..<count {
            let record = 12 + 16 * i
            let tag = String(decoding: try file.slice(record, 4, "table record"), as: UTF8.self)
            let offset = try file.int(record + 8, "table offset"), length = try file.int(record + 12, "table length")
            try file.check(offset, length, "table '\(tag)'")
            tables[tag] = (offset, length)
        }
        self.tables = tables
    }

    /// The offset of a table the caller cannot do without.
    func requiredTable(_ tag: String) throws -> Int {
        guard let table = tables[tag] else { throw file.malformed("no '\(tag)' table") }
        return table.offset
    }
}
