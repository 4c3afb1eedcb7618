import Foundation

/// A checkpoint whose header and every tensor have been verified.
public struct LoadedCheckpoint: Sendable {
    public let url: URL
    public let header: CheckpointHeader
    /// Tensors in the order they were saved.
    public let tensors: [CheckpointTensor]

    public var step: Int { header.step }

    public func tensor(named name: String) -> CheckpointTensor? {
        tensors.first { $0.name == name }
    }

    /// Decodes the run metadata as the caller's own type.
    public func metadata<T: Decodable>(as type: T.Type) throws -> T {
        try header.metadata(as: type)
    }
}

extension CheckpointFile {
    /// Loads a checkpoint, verifying magic, version, header checksum and every tensor checksum before returning.
    public static func read(at url: URL) throws -> LoadedCheckpoint {
        let reader = try CheckpointFileReader(url: url)
        var tensors: [CheckpointTensor] = []
        tensors.reserveCapacity(reader.header.tensors.count)
        for record in reader.header.tensors {
            let count = record.rawSize / MemoryLayout<Float>.size
            let values = try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                try reader.decode(record, into: buffer.baseAddress.map { UnsafeMutableRawPointer($0) } ?? reader.emptyDestination)
                initialized = count
            }
            tensors.append(CheckpointTensor(name: record.name, shape: record.shape, values: values))
        }
        return LoadedCheckpoint(url: url, header: reader.header, tensors: tensors)
    }

    /// Checks every checksum of a checkpoint without keeping the values; returns its header.
    @discardableResult
    public static func verify(at url: URL) throws -> CheckpointHeader {
        let reader = try CheckpointFileReader(url: url)
        let largest = reader.header.tensors.map(\.rawSize).max() ?? 0
        let destination = UnsafeMutableRawPointer.allocate(byteCount: max(64, largest), alignment: 64)
        defer { destination.deallocate() }
        for record in reader.header.tensors { try reader.decode(record, into: destination) }
        return reader.header
    }

    /// Reads and verifies only the preamble and header (cheap: no payload is read).
    public static func readHeader(at url: URL) throws -> CheckpointHeader {
        try CheckpointFileReader(url: url).header
    }
}

/// An open checkpoint whose preamble, header checksum and tensor table have been validated.
private final class CheckpointFileReader {
    let header: CheckpointHeader
    private let file: PosixFile
    private let path: String
    private let decompressor: ZstdDecompressor
    /// Holds one stored payload at a time.
    private let stored: UnsafeMutableRawPointer
    /// Holds one decompressed, still shuffled tensor at a time.
    private let filtered: UnsafeMutableRawPointer
    /// A valid pointer for tensors without values, whose arrays have no storage.
    let emptyDestination: UnsafeMutableRawPointer

    init(url: URL) throws {
        path = url.path
        file = try PosixFile.openForReading(path)
        let fileSize = try file.size()
        header = try CheckpointFileReader.readHeader(file, path: path, fileSize: fileSize)
        try CheckpointFileReader.validateTable(header, path: path, fileSize: fileSize)
        decompressor = try ZstdDecompressor()
        let largestStored = header.tensors.map(\.compressedSize).max() ?? 0
        let largestFiltered = header.tensors.filter { $0.filter != .none }.map(\.rawSize).max() ?? 0
        stored = .allocate(byteCount: max(64, largestStored), alignment: 64)
        filtered = .allocate(byteCount: max(64, largestFiltered), alignment: 64)
        emptyDestination = .allocate(byteCount: 64, alignment: 64)
    }

    deinit {
        stored.deallocate()
        filtered.deallocate()
        emptyDestination.deallocate()
    }

    /// Reads, checks, decompresses and unfilters one tensor into `destination` (`rawSize` bytes).
    func decode(_ record: CheckpointTensorRecord, into destination: UnsafeMutableRawPointer) throws {
        // Uncompressed payloads are read straight into place; otherwise into the stored-payload buffer.
        let unfilteredTarget = record.filter == .none ? destination : filtered
        let payload = record.codec == .none ? unfilteredTarget : stored
        let got = try file.read(into: payload, count: record.compressedSize, at: record.offset)
        guard got == record.compressedSize else {
            throw CheckpointError.truncated(path: path, detail: "tensor '\(record.name)' payload ends at byte \(record.offset + record.compressedSize) but the file ends at byte \(record.offset + got)")
        }
        let storedChecksum = xxh3(payload, count: record.compressedSize)
        let expectedStored = parseHexChecksum(record.storedChecksum) ?? 0
        guard storedChecksum == expectedStored else {
            throw CheckpointError.tensorChecksumMismatch(path: path, tensor: record.name, stage: "stored payload",
                                                         expected: expectedStored, found: storedChecksum)
        }
        if record.codec == .zstd {
            do {
                try decompressor.decompress(payload, count: record.compressedSize, into: unfilteredTarget, expectedCount: record.rawSize)
            } catch let failure as ZstdFailure {
                throw CheckpointError.decompressionFailed(path: path, tensor: record.name, reason: failure.reason)
            }
        }
        if record.filter == .shuffle4 {
            ByteShuffle.unshuffle4(filtered, into: destination, count: record.rawSize / 4)
        }
        let rawChecksum = xxh3(destination, count: record.rawSize)
        let expectedRaw = parseHexChecksum(record.checksum) ?? 0
        guard rawChecksum == expectedRaw else {
            throw CheckpointError.tensorChecksumMismatch(path: path, tensor: record.name, stage: "decoded values",
                                                         expected: expectedRaw, found: rawChecksum)
        }
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
            throw CheckpointError.malformedHeader(path: path, detail: "JSON does not decode: \(error)")
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
            guard record.dtype == CheckpointFormat.float32 else { throw fail("unsupported dtype '\(record.dtype)'") }
            guard let count = CheckpointTensor.elementCount(of: record.shape),
                  count <= Int.max / MemoryLayout<Float>.size,
                  count * MemoryLayout<Float>.size == record.rawSize else {
                throw fail("shape \(record.shape) does not match raw size \(record.rawSize)")
            }
            guard record.offset >= CheckpointFormat.preambleSize, record.compressedSize >= 0,
                  record.offset <= fileSize - record.compressedSize else {
                throw fail("payload \(record.offset)+\(record.compressedSize) lies outside the file (\(fileSize) bytes)")
            }
            guard record.codec != .none || record.compressedSize == record.rawSize else {
                throw fail("uncompressed payload of \(record.compressedSize) bytes for \(record.rawSize) raw bytes")
            }
            guard parseHexChecksum(record.checksum) != nil, parseHexChecksum(record.storedChecksum) != nil else {
                throw fail("checksums are not 16 hex digits")
            }
        }
    }

    private static func littleEndian<T: FixedWidthInteger>(_ type: T.Type, _ bytes: [UInt8], at offset: Int) -> T {
        bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }
}
