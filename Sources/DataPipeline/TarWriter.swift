import Foundation

/// Writes ustar archives (GNU long-name entries for paths over 100 bytes), used to export datasets as shards.
public final class TarWriter {
    public let path: String
    private let handle: FileHandle
    private var finished = false

    public init(path: String) throws {
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw DataPipelineError.cannotWrite(path: path, reason: "cannot create file")
        }
        self.handle = handle
    }

    deinit { if !finished { try? finish() } }

    /// Appends one regular file.
    public func add(name: String, contents: [UInt8]) throws {
        let nameBytes = Array(name.utf8)
        if nameBytes.count > 100 {
            var longName = nameBytes
            longName.append(0)
            try write(header(name: Array("././@LongLink".utf8), size: longName.count, type: UInt8(ascii: "L")))
            try write(padded(longName))
        }
        try write(header(name: Array(nameBytes.prefix(100)), size: contents.count, type: UInt8(ascii: "0")))
        try write(padded(contents))
    }

    /// Writes the two zero blocks that end the archive and closes the file.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        try write([UInt8](repeating: 0, count: 1024))
        try handle.close()
    }

    private func write(_ bytes: [UInt8]) throws {
        do { try handle.write(contentsOf: Data(bytes)) } catch {
            throw DataPipelineError.cannotWrite(path: path, reason: error.localizedDescription)
        }
    }

    private func padded(_ bytes: [UInt8]) -> [UInt8] {
        let remainder = bytes.count % 512
        return remainder == 0 ? bytes : bytes + [UInt8](repeating: 0, count: 512 - remainder)
    }

    private func header(name: [UInt8], size: Int, type: UInt8) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ bytes: [UInt8], at offset: Int) { for (i, b) in bytes.enumerated() { h[offset + i] = b } }
        func octal(_ value: Int, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
        }
        put(name, at: 0)
        put(octal(0o644, width: 8), at: 100)
        put(octal(0, width: 8), at: 108)
        put(octal(0, width: 8), at: 116)
        put(octal(size, width: 12), at: 124)
        put(octal(0, width: 12), at: 136)
        h[156] = type
        put(Array("ustar".utf8) + [0], at: 257)
        put(Array("00".utf8), at: 263)
        for i in 148..<156 { h[i] = 32 }
        let sum = h.reduce(0) { $0 + Int($1) }
        put(octal(sum, width: 7) + [32], at: 148)
        return h
    }
}
