import Foundation
import TensorCore

/// An open checkpoint whose preamble, header checksum and tensor table have been validated.
///
/// Immutable after init; several `TensorDecoder`s may read payloads through it concurrently (`pread`).
final class OpenCheckpointFile: @unchecked Sendable {
    let header: CheckpointHeader
    let file: PosixFile
    let path: String

    init(url: URL) throws {
        path = url.path
        file = try PosixFile.openForReading(path)
        let fileSize = try file.size()
        header = try OpenCheckpointFile.readHeader(file, path: path, fileSize: fileSize)
        try OpenCheckpointFile.validateTable(header, path: path, fileSize: fileSize)
    }

    private static func readHeader(_ file: PosixFile, path: String, fileSize: Int) throws -> CheckpointHeader {
        let preambleSize = CheckpointFormat.preambleSize
        var preamble = [UInt8](repeating: 0, count: preambleSize)
        let got = try preamble.withUnsafeMutableBytes { try file.read(into: $0.baseAddress!, count: preambleSize, at: 0) }
        let magic = CheckpointFormat.magic
        let magicBytesPresent = min(got, magic.count)
        guard preamble[0..<magicBytesPresent].elementsEqual(magic[0..<magicBytesPresent]) else {
            throw CheckpointError.badMagic(path: path, found: preamble[0..<magicBytesPresent].map { hex(UInt64($0)).suffix(2) }.joined())
        }
        guard got == preambleSize else {
            throw CheckpointError.truncated(path: path, detail: "file has \(fileSize) bytes, fewer than the \(preambleSize)-byte preamble")
        }
        let version = littleEndian(UInt32.self, preamble, at: 8)
        guard version == CheckpointFormat.version else {
            throw CheckpointError.unsupportedVersion(path: path, found: version, supported: CheckpointFormat.version)
        }
        let headerLength = littleEndian(UInt64.self, preamble, at: 16)
        let expectedChecksum = littleEndian(UInt64.self, preamble, at: 24)
        guard headerLength <= UInt64(fileSize - preambleSize) else {
            throw CheckpointError.truncated(path: path, detail: "header needs \(headerLength) bytes after the preamble but the file has only \(fileSize) bytes in total")
        }
        var headerBytes = Data(count: Int(headerLength))
        let headerGot = try headerBytes.withUnsafeMutableBytes { buffer in
            try file.read(into: buffer.baseAddress!, count: buffer.count, at: preambleSize)
        }
        guard headerGot == Int(headerLength) else {
            throw CheckpointError.truncated(path: path, detail: "file ended inside the header")
        }
        let foundChecksum = headerBytes.withUnsafeBytes { xxh3($0) }
        guard foundChecksum == expectedChecksum else {
            throw CheckpointError.headerChecksumMismatch(path: path, expected: expectedChecksum, found: foundChecksum)
        }
        let header: CheckpointHeader
        do {
            header = try JSONValue.decoder().decode(CheckpointHeader.self, from: headerBytes)
        } catch {
            throw CheckpointError.malformedHeader(path: path, detail: OpenCheckpointFile.summary(of: error))
        }
        guard header.format == CheckpointFormat.formatName, header.formatVersion == Int(CheckpointFormat.version) else {
            throw CheckpointError.malformedHeader(path: path, detail: "format '\(header.format)' version \(header.formatVersion) disagrees with the preamble")
        }
        guard fileSize >= header.fileSize else {
            throw CheckpointError.truncated(path: path, detail: "file has \(fileSize) bytes, header declares \(header.fileSize)")
        }
        guard fileSize == header.fileSize else {
            throw CheckpointError.corrupt(path: path, detail: "file has \(fileSize - header.fileSize) bytes beyond the declared \(header.fileSize)")
        }
        return header
    }

    /// Rejects tables that would make decoding read outside the file or misinterpret bytes.
    private static func validateTable(_ header: CheckpointHeader, path: String, fileSize: Int) throws {
        var names = Set<String>()
        for record in header.tensors {
            func fail(_ detail: String) -> CheckpointError {
                .malformedHeader(path: path, detail: "tensor '\(record.name)': \(detail)")
            }
            guard !record.name.isEmpty, names.insert(record.name).inserted else { throw fail("empty or repeated name") }
            guard let dtype = StorageDType(longName: record.dtype) else {
                throw fail("unsupported dtype '\(record.dtype)' (float32, bfloat16, float16)")
            }
            guard let count = CheckpointTensor.elementCount(of: record.shape),
                  count <= Int.max / MemoryLayout<Float>.size,
                  count * dtype.byteWidth == record.rawSize else {
                throw fail("shape \(record.shape) does not match raw size \(record.rawSize)")
            }
            guard record.filter.elementWidth.map({ $0 == dtype.byteWidth }) ?? true else {
                throw fail("filter \(record.filter.rawValue) does not fit \(record.dtype) values")
            }
            guard record.offset >= CheckpointFormat.preambleSize, record.compressedSize >= 0,
                  record.offset <= fileSize - record.compressedSize else {
                throw fail("payload \(record.offset)+\(record.compressedSize) lies outside the file (\(fileSize) bytes)")
            }
            // zstd cannot exceed ~32768:1 (a 4-byte RLE block per 128 KiB); a larger claim is a forged size
            // that would make the reader allocate absurd amounts of memory.
            let (plausibleRaw, overflow) = (record.compressedSize + 1).multipliedReportingOverflow(by: 1 << 16)
            guard record.codec != .zstd || overflow || record.rawSize <= plausibleRaw else {
                throw fail("raw size \(record.rawSize) is impossible for a \(record.compressedSize)-byte zstd frame")
            }
            guard record.codec != .none || record.compressedSize == record.rawSize else {
                throw fail("uncompressed payload of \(record.compressedSize) bytes for \(record.rawSize) raw bytes")
            }
            guard parseHexChecksum(record.checksum) != nil, parseHexChecksum(record.storedChecksum) != nil else {
                throw fail("checksums are not 16 hex digits")
            }
        }
    }

    /// A one-line account of why the header JSON did not decode, naming the offending field.
    private static func summary(of error: Error) -> String {
        guard let error = error as? DecodingError else { return "JSON does not decode: \(error)" }
        let context: DecodingError.Context
        switch error {
        case let .typeMismatch(_, c), let .valueNotFound(_, c), let .keyNotFound(_, c), let .dataCorrupted(c): context = c
        @unknown default: return "JSON does not decode: \(error)"
        }
        var field = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        if case let .keyNotFound(key, _) = error { field += ".\(key.stringValue)" }
        let reason = context.debugDescription.replacingOccurrences(of: "\n", with: " ")
        return "field '\(field.isEmpty ? "<root>" : String(field.drop { $0 == "." }))': \(reason)"
    }

    private static func littleEndian<T: FixedWidthInteger>(_ type: T.Type, _ bytes: [UInt8], at offset: Int) -> T {
        bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }
}
