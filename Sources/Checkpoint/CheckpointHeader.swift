import Foundation

/// Where and how one tensor is stored; one row of the header's tensor table.
public struct CheckpointTensorRecord: Codable, Equatable, Sendable {
    public var name: String
    /// Element type of the stored values (little-endian): "float32", "bfloat16" or "float16" (`StorageDType.longName`).
    public var dtype: String
    public var shape: [Int]
    /// Absolute byte offset of the stored payload in the file.
    public var offset: Int
    /// Bytes of the stored payload (after filter and compression).
    public var compressedSize: Int
    /// Bytes of the values in memory: element count × 4.
    public var rawSize: Int
    /// XXH3-64 of the raw little-endian values, 16 hex digits.
    public var checksum: String
    /// XXH3-64 of the stored payload, 16 hex digits; lets corruption be named before decompressing.
    public var storedChecksum: String
    public var filter: CheckpointFilter
    public var codec: CheckpointCodec

    enum CodingKeys: String, CodingKey {
        case name, dtype, shape, offset, checksum, filter, codec
        case compressedSize = "compressed_size"
        case rawSize = "raw_size"
        case storedChecksum = "stored_checksum"
    }
}

/// The JSON header: format identity, the tensor table and the caller's run metadata.
public struct CheckpointHeader: Codable, Equatable, Sendable {
    public var format: String
    public var formatVersion: Int
    /// Training step the checkpoint was saved at (also encoded in the file name by `CheckpointDirectory`).
    public var step: Int
    /// ISO 8601 UTC time of writing.
    public var createdAt: String
    /// Total file length in bytes, so truncation is detected even in padding.
    public var fileSize: Int
    public var tensors: [CheckpointTensorRecord]
    /// Free-form run state supplied by the caller (config, epoch, data position, RNG and optimizer state, ...).
    public var metadata: JSONValue

    enum CodingKeys: String, CodingKey {
        case format, step, tensors, metadata
        case formatVersion = "format_version"
        case createdAt = "created_at"
        case fileSize = "file_size"
    }

    /// Decodes the run metadata as the caller's own type.
    public func metadata<T: Decodable>(as type: T.Type) throws -> T {
        try metadata.decode(as: type)
    }
}

/// Fixed constants of the on-disk layout (see docs/checkpoint-format.md).
enum CheckpointFormat {
    #if _endian(big)
    #error("The checkpoint format stores little-endian values; big-endian hosts need byte swapping first.")
    #endif

    /// "SCLIPCKP" — identifies the file type in its first eight bytes.
    static let magic: [UInt8] = Array("SCLIPCKP".utf8)
    static let magicDescription = "53434c4950434b50 (\"SCLIPCKP\")"
    static let version: UInt32 = 1
    static let formatName = "swiftclip-checkpoint"
    /// magic (8) + version (4) + flags (4) + header length (8) + header checksum (8).
    static let preambleSize = 32
    /// Payloads start on 64-byte boundaries so uncompressed tensors could be mapped and used in place.
    static let payloadAlignment = 64

    static func aligned(_ offset: Int) -> Int {
        (offset + payloadAlignment - 1) / payloadAlignment * payloadAlignment
    }

    static func headerEncoder() -> JSONEncoder {
        let encoder = JSONValue.encoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return encoder
    }

    /// The 32 bytes that open every checkpoint file.
    static func preamble(headerLength: Int, headerChecksum: UInt64) -> [UInt8] {
        var bytes = magic
        appendLittleEndian(version, to: &bytes)
        appendLittleEndian(UInt32(0), to: &bytes)
        appendLittleEndian(UInt64(headerLength), to: &bytes)
        appendLittleEndian(headerChecksum, to: &bytes)
        return bytes
    }

    private static func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}
