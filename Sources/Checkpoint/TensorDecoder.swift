import Foundation
import TensorCore

/// Turns stored payloads back into values, verifying both checksums; one per thread, scratch reused across tensors.
final class TensorDecoder {
    private let source: OpenCheckpointFile
    private let decompressor: ZstdDecompressor
    /// Holds one stored payload at a time.
    private let stored: UnsafeMutableRawPointer
    /// Holds one decompressed, still shuffled tensor at a time.
    private let filtered: UnsafeMutableRawPointer
    /// Holds the stored values of one 16-bit tensor before they are widened to Float32.
    private let narrow: UnsafeMutableRawPointer
    /// A valid pointer for tensors without values, whose arrays have no storage.
    let emptyDestination: UnsafeMutableRawPointer
    /// Destination for `decodeDiscarding`, grown on demand.
    private var discardBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 64)

    /// Prepares scratch space large enough for every record in `records`.
    init(source: OpenCheckpointFile, records: [CheckpointTensorRecord]) throws {
        self.source = source
        decompressor = try ZstdDecompressor()
        let largestStored = records.filter { $0.codec != .none }.map(\.compressedSize).max() ?? 0
        let largestFiltered = records.filter { $0.filter != .none }.map(\.rawSize).max() ?? 0
        stored = .allocate(byteCount: max(64, largestStored), alignment: 64)
        filtered = .allocate(byteCount: max(64, largestFiltered), alignment: 64)
        let largestNarrow = records.filter { $0.dtype != StorageDType.f32.longName }.map(\.rawSize).max() ?? 0
        narrow = .allocate(byteCount: max(64, largestNarrow), alignment: 64)
        emptyDestination = .allocate(byteCount: 64, alignment: 64)
    }

    deinit {
        stored.deallocate()
        filtered.deallocate()
        narrow.deallocate()
        emptyDestination.deallocate()
        discardBuffer.deallocate()
    }

    /// Reads, checks, decompresses and unfilters one tensor into `destination` (`rawSize` bytes).
    func decode(_ record: CheckpointTensorRecord, into destination: UnsafeMutableRawPointer) throws {
        // Uncompressed payloads are read straight into place; otherwise into the stored-payload buffer.
        let unfilteredTarget = record.filter == .none ? destination : filtered
        let payload = record.codec == .none ? unfilteredTarget : stored
        let got = try source.file.read(into: payload, count: record.compressedSize, at: record.offset)
        guard got == record.compressedSize else {
            throw CheckpointError.truncated(path: source.path, detail: "tensor '\(record.name)' payload ends at byte \(record.offset + record.compressedSize) but the file ends at byte \(record.offset + got)")
        }
        let storedChecksum = xxh3(payload, count: record.compressedSize)
        let expectedStored = parseHexChecksum(record.storedChecksum) ?? 0
        guard storedChecksum == expectedStored else {
            throw CheckpointError.tensorChecksumMismatch(path: source.path, tensor: record.name, stage: "stored payload",
                                                         expected: expectedStored, found: storedChecksum)
        }
        if record.codec == .zstd {
            do {
                try decompressor.decompress(payload, count: record.compressedSize, into: unfilteredTarget, expectedCount: record.rawSize)
            } catch let failure as ZstdFailure {
                throw CheckpointError.decompressionFailed(path: source.path, tensor: record.name, reason: failure.reason)
            }
        }
        if let width = record.filter.elementWidth {
            ByteShuffle.undo(record.filter, filtered, into: destination, count: record.rawSize / width)
        }
        let rawChecksum = xxh3(destination, count: record.rawSize)
        let expectedRaw = parseHexChecksum(record.checksum) ?? 0
        guard rawChecksum == expectedRaw else {
            throw CheckpointError.tensorChecksumMismatch(path: source.path, tensor: record.name, stage: "decoded values",
                                                         expected: expectedRaw, found: rawChecksum)
        }
    }

    /// Decodes and verifies a tensor's stored values, widened to Float32, into `destination` (one Float per element).
    func decodeValues(_ record: CheckpointTensorRecord, dtype: StorageDType, into destination: UnsafeMutablePointer<Float>) throws {
        guard dtype != .f32 else { return try decode(record, into: UnsafeMutableRawPointer(destination)) }
        try decode(record, into: narrow)
        dtype.decode(narrow, count: record.rawSize / dtype.byteWidth, into: destination)
    }

    /// Decodes and verifies a tensor into scratch memory, for verification without keeping values.
    func decodeDiscarding(_ record: CheckpointTensorRecord) throws {
        if discardBuffer.count < record.rawSize {
            discardBuffer.deallocate()
            discardBuffer = .allocate(byteCount: record.rawSize, alignment: 64)
        }
        try decode(record, into: discardBuffer.baseAddress ?? emptyDestination)
    }
}
