/// One regular file inside a tar archive.
public struct TarEntry: Sendable, Equatable {
    /// Path inside the archive (GNU long names and pax `path` applied).
    public var name: String
    /// Byte offset of the file's data in the archive.
    public var dataOffset: Int
    public var size: Int
}

/// Result of scanning an archive's headers: the entries before any damage, and the damage if there was some.
public struct TarScan: Sendable {
    public var entries: [TarEntry]
    /// Why scanning stopped early (truncated data, bad checksum...), or nil for a clean archive.
    public var damage: String?
}

/// Streaming reader of POSIX ustar / GNU / pax tar archives that looks only at headers and seeks over file data.
public enum TarReader {
    static let block = 512

    /// Scans the headers of the archive at `path`. Opening failures throw; damage inside the archive does not: the
    /// entries found before it are returned with `damage` set, so a truncated shard still yields its first samples.
    public static func scan(path: String) throws -> TarScan {
        let file = try RandomAccessFile(path: path)
        return try scan(file)
    }

    static func scan(_ file: RandomAccessFile) throws -> TarScan {
        var entries: [TarEntry] = []
        var offset = 0
        var header = [UInt8](repeating: 0, count: block)
        var pendingName: String? = nil
        var pendingSize: Int? = nil
        while true {
            if offset == file.size { return TarScan(entries: entries, damage: nil) }  // end without zero blocks: tolerated
            let n = try header.withUnsafeMutableBytes { try file.read(into: $0.baseAddress!, count: block, at: offset) }
            if n < block { return TarScan(entries: entries, damage: "truncated header at byte \(offset)") }
            if header.allSatisfy({ $0 == 0 }) { return TarScan(entries: entries, damage: nil) }
            guard checksumMatches(header) else { return TarScan(entries: entries, damage: "bad header checksum at byte \(offset)") }
            guard let fieldSize = parseNumber(header[124..<136]) else {
                return TarScan(entries: entries, damage: "bad size field at byte \(offset)")
            }
            let type = header[156]
            let size = (type == UInt8(ascii: "0") || type == 0 || type == UInt8(ascii: "7")) ? (pendingSize ?? fieldSize) : fieldSize
            let dataOffset = offset + block
            let next = dataOffset + (size + block - 1) / block * block
            if dataOffset + size > file.size {
                return TarScan(entries: entries, damage: "entry at byte \(offset) runs past the end of the file (truncated)")
            }
            switch type {
            case UInt8(ascii: "L"):
                let bytes = try file.readBytes(count: size, at: dataOffset)
                pendingName = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            case UInt8(ascii: "x"):
                let bytes = try file.readBytes(count: size, at: dataOffset)
                let records = parsePax(bytes)
                if let path = records["path"] { pendingName = path }
                if let s = records["size"], let value = Int(s) { pendingSize = value }
            case UInt8(ascii: "0"), 0, UInt8(ascii: "7"):
                var name = pendingName ?? headerName(header)
                if name.hasPrefix("./") { name.removeFirst(2) }
                entries.append(TarEntry(name: name, dataOffset: dataOffset, size: size))
                pendingName = nil
                pendingSize = nil
            default:
                // Directories, links, global pax headers, GNU long link names: nothing to read.
                if type != UInt8(ascii: "K") { pendingName = nil; pendingSize = nil }
            }
            offset = next
        }
    }

    /// ustar name = prefix + "/" + name when the prefix field is used (only with the "ustar" magic).
    static func headerName(_ h: [UInt8]) -> String {
        let name = cString(h[0..<100])
        let isUstar = h[257..<262].elementsEqual(Array("ustar".utf8))
        if isUstar {
            let prefix = cString(h[345..<500])
            if !prefix.isEmpty { return prefix + "/" + name }
        }
        return name
    }

    static func cString(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// Octal ASCII (space/NUL padded) or GNU base-256 (high bit of the first byte set).
    static func parseNumber(_ field: ArraySlice<UInt8>) -> Int? {
        guard let first = field.first else { return nil }
        if first & 0x80 != 0 {
            var value = Int(first & 0x7F)
            for b in field.dropFirst() {
                guard value < (Int.max >> 8) else { return nil }
                value = value << 8 | Int(b)
            }
            return value
        }
        var value = 0
        var seenDigit = false
        for b in field {
            if b == 0 || b == UInt8(ascii: " ") { if seenDigit { break } else { continue } }
            guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "7") else { return nil }
            value = value * 8 + Int(b - UInt8(ascii: "0"))
            seenDigit = true
        }
        return value
    }

    static func checksumMatches(_ h: [UInt8]) -> Bool {
        guard let stored = parseNumber(h[148..<156]) else { return false }
        var unsigned = 0, signed = 0
        for (i, b) in h.enumerated() {
            let v = (148..<156).contains(i) ? 32 : b
            unsigned += Int(v)
            signed += Int(Int8(bitPattern: v))
        }
        return stored == unsigned || stored == signed
    }

    /// Pax records: "<length> <key>=<value>\n".
    static func parsePax(_ bytes: [UInt8]) -> [String: String] {
        var result: [String: String] = [:]
        var i = 0
        while i < bytes.count {
            var j = i
            var length = 0
            while j < bytes.count, bytes[j] >= 48, bytes[j] <= 57 { length = length * 10 + Int(bytes[j] - 48); j += 1 }
            guard length > 0, j < bytes.count, bytes[j] == 32, i + length <= bytes.count else { break }
            let record = bytes[(j + 1)..<(i + length)]
            if let eq = record.firstIndex(of: UInt8(ascii: "=")) {
                let key = String(decoding: record[record.startIndex..<eq], as: UTF8.self)
                var valueBytes = record[(eq + 1)...]
                if valueBytes.last == 10 { valueBytes = valueBytes.dropLast() }
                result[key] = String(decoding: valueBytes, as: UTF8.self)
            }
            i += length
        }
        return result
    }
}
