import Foundation
import TensorCore

/// Sizes of a checkpoint just written.
public struct CheckpointWriteSummary: Sendable {
    public let url: URL
    /// Bytes of all tensor values in memory.
    public let rawBytes: Int
    /// Bytes of all stored payloads (after filter and compression).
    public let storedBytes: Int
    /// Length of the file, header included.
    public let fileBytes: Int

    /// Raw bytes per stored byte; 1 for a checkpoint without values.
    public var compressionRatio: Double { storedBytes > 0 ? Double(rawBytes) / Double(storedBytes) : 1 }
}

/// Reading and writing single checkpoint files (layout in docs/checkpoint-format.md).
public enum CheckpointFile {
    /// File name extension of checkpoint files.
    public static let fileExtension = "sclip"

    /// Writes a checkpoint atomically: temporary file in the same folder, fsync, rename, fsync of the folder.
    @discardableResult
    public static func write<Metadata: Encodable>(_ tensors: [CheckpointTensor], step: Int, metadata: Metadata,
                                                  to url: URL, options: CheckpointWriteOptions = .init()) throws -> CheckpointWriteSummary {
        try write(tensors, step: step, metadataValue: JSONValue(encoding: metadata), to: url, options: options)
    }

    /// Writes a checkpoint atomically with metadata already in JSON form.
    @discardableResult
    public static func write(_ tensors: [CheckpointTensor], step: Int, metadataValue: JSONValue,
                             to url: URL, options: CheckpointWriteOptions = .init()) throws -> CheckpointWriteSummary {
        try validate(tensors, step: step, options: options)
        return try AtomicFile.write(to: url) { file in
            try TensorFileEncoder(tensors: tensors, step: step, metadata: metadataValue, options: options, displayPath: url.path)
                .encode(into: file, url: url)
        }
    }

    private static func validate(_ tensors: [CheckpointTensor], step: Int, options: CheckpointWriteOptions) throws {
        guard step >= 0 else { throw CheckpointError.invalidArgument(detail: "checkpoint step must be >= 0, got \(step)") }
        if options.compressionWorkers < 0 {
            throw CheckpointError.invalidArgument(detail: "compression workers must be >= 0, got \(options.compressionWorkers)")
        }
        var seen = Set<String>()
        for tensor in tensors {
            guard !tensor.name.isEmpty else { throw CheckpointError.invalidTensor(tensor: "", detail: "tensor name is empty") }
            guard seen.insert(tensor.name).inserted else {
                throw CheckpointError.invalidTensor(tensor: tensor.name, detail: "name appears more than once")
            }
            guard let count = CheckpointTensor.elementCount(of: tensor.shape) else {
                throw CheckpointError.invalidTensor(tensor: tensor.name, detail: "invalid shape \(tensor.shape)")
            }
            if tensor.dtype != .f32, let bad = tensor.values.firstIndex(where: { $0.isFinite && !tensor.dtype.rounded($0).isFinite }) {
                throw CheckpointError.invalidTensor(tensor: tensor.name,
                                                    detail: "value \(tensor.values[bad]) is beyond the range of \(tensor.dtype.longName)")
            }
            guard count == tensor.values.count else {
                throw CheckpointError.invalidTensor(tensor: tensor.name,
                                                    detail: "shape \(tensor.shape) needs \(count) values, got \(tensor.values.count)")
            }
        }
    }
}

/// Streams tensors into an open file: payloads first (one reused buffer), then header and preamble in front.
///
/// The header's size is bounded before compressing because only fixed-width checksums and integer fields
/// change; space for that bound is reserved so payloads can be written as soon as each tensor is compressed.
private struct TensorFileEncoder {
    let tensors: [CheckpointTensor]
    let step: Int
    let metadata: JSONValue
    let options: CheckpointWriteOptions
    let displayPath: String

    func encode(into file: PosixFile, url: URL) throws -> CheckpointWriteSummary {
        let placeholderChecksum = hex(UInt64.max)
        var header = CheckpointHeader(
            format: CheckpointFormat.formatName, formatVersion: Int(CheckpointFormat.version), step: step,
            createdAt: ISO8601DateFormatter().string(from: Date()), fileSize: Int.max,
            tensors: tensors.map { tensor in
                CheckpointTensorRecord(name: tensor.name, dtype: tensor.dtype.longName, shape: tensor.shape,
                                       offset: Int.max, compressedSize: Int.max,
                                       rawSize: tensor.values.count * tensor.dtype.byteWidth,
                                       checksum: placeholderChecksum, storedChecksum: placeholderChecksum,
                                       filter: options.filter.forElements(of: tensor.dtype.byteWidth), codec: options.codec)
            },
            metadata: metadata)
        let encoder = CheckpointFormat.headerEncoder()
        let reservedHeaderBytes = try encodeHeader(header, encoder)
        let payloadStart = CheckpointFormat.aligned(CheckpointFormat.preambleSize + reservedHeaderBytes.count)

        let largestRaw = header.tensors.map(\.rawSize).max() ?? 0
        // Scratch buffers live for the whole file; a non-empty allocation keeps pointers valid for empty tensors.
        let filtered = UnsafeMutableRawPointer.allocate(byteCount: max(64, options.filter == .none ? 0 : largestRaw), alignment: 64)
        defer { filtered.deallocate() }
        // Values of 16-bit tensors, rounded from Float32 before they are checksummed, filtered and compressed.
        let largestNarrow = header.tensors.filter { $0.dtype != StorageDType.f32.longName }.map(\.rawSize).max() ?? 0
        let narrowed = UnsafeMutableRawPointer.allocate(byteCount: max(64, largestNarrow), alignment: 64)
        defer { narrowed.deallocate() }
        let compressedCapacity = max(64, options.codec == .zstd ? ZstdCompressor.bound(largestRaw) : 0)
        let compressed = UnsafeMutableRawPointer.allocate(byteCount: compressedCapacity, alignment: 64)
        defer { compressed.deallocate() }
        let compressor = options.codec == .zstd
            ? try ZstdCompressor(level: options.compressionLevel, workers: options.compressionWorkers, jobSizeBytes: options.jobSizeBytes)
            : nil

        var offset = payloadStart
        var storedTotal = 0
        for index in tensors.indices {
            offset = CheckpointFormat.aligned(offset)
            let dtype = tensors[index].dtype
            let filter = header.tensors[index].filter
            let stored = try tensors[index].values.withUnsafeBufferPointer { values -> (size: Int, checksum: UInt64, raw: UInt64) in
                let rawBytes = header.tensors[index].rawSize
                var source = values.baseAddress.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(filtered)
                if dtype != .f32, let base = values.baseAddress {
                    _ = dtype.encode(base, count: values.count, into: narrowed)
                    source = UnsafeRawPointer(narrowed)
                }
                let rawChecksum = xxh3(source, count: rawBytes)
                var payload = source
                if let width = filter.elementWidth {
                    ByteShuffle.apply(filter, source, into: filtered, count: rawBytes / width)
                    payload = UnsafeRawPointer(filtered)
                }
                var payloadBytes = rawBytes
                if let compressor {
                    do {
                        payloadBytes = try compressor.compress(payload, count: rawBytes, into: compressed, capacity: compressedCapacity)
                    } catch let failure as ZstdFailure {
                        throw CheckpointError.compressionFailed(path: displayPath, tensor: tensors[index].name, reason: failure.reason)
                    }
                    payload = UnsafeRawPointer(compressed)
                }
                try file.write(UnsafeRawBufferPointer(start: payload, count: payloadBytes), at: offset)
                return (payloadBytes, xxh3(payload, count: payloadBytes), rawChecksum)
            }
            header.tensors[index].offset = offset
            header.tensors[index].compressedSize = stored.size
            header.tensors[index].checksum = hex(stored.raw)
            header.tensors[index].storedChecksum = hex(stored.checksum)
            offset += stored.size
            storedTotal += stored.size
        }
        let fileSize = tensors.isEmpty ? payloadStart : offset
        header.fileSize = fileSize

        let headerBytes = try encodeHeader(header, encoder)
        guard headerBytes.count <= reservedHeaderBytes.count else {
            // Cannot happen while only fixed-width fields change; refuse rather than overwrite payloads.
            throw CheckpointError.invalidArgument(detail: "\(displayPath): header grew beyond its reserved space")
        }
        let headerChecksum = headerBytes.withUnsafeBytes { xxh3($0) }
        var front = CheckpointFormat.preamble(headerLength: headerBytes.count, headerChecksum: headerChecksum)
        front.append(contentsOf: headerBytes)
        try front.withUnsafeBytes { try file.write($0, at: 0) }
        // Sets the exact length even when there are no payloads after the reserved header space.
        try file.truncate(to: fileSize)

        return CheckpointWriteSummary(url: url, rawBytes: header.tensors.reduce(0) { $0 + $1.rawSize },
                                      storedBytes: storedTotal, fileBytes: fileSize)
    }

    private func encodeHeader(_ header: CheckpointHeader, _ encoder: JSONEncoder) throws -> Data {
        do {
            return try encoder.encode(header)
        } catch {
            throw CheckpointError.invalidMetadata(detail: "cannot encode the header of \(displayPath): \(error)")
        }
    }
}
