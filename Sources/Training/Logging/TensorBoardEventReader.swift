import Foundation

/// Reads the scalar events of a TensorBoard event file, verifying every TFRecord's length and data CRC.
///
/// The counterpart of `TensorBoardWriter` for checks and tools; it understands the fields the writer emits
/// (and skips any other protobuf field), not TensorBoard's image, histogram or tensor summaries.
public enum TensorBoardEventReader {
    /// One scalar as stored in the file.
    public struct Scalar: Equatable, Sendable {
        public var tag: String
        public var value: Float
        public var step: Int64
        public var wallTime: Double
    }

    /// A parsed file: its `file_version` string (from the first event) and every scalar in file order.
    public struct Contents: Sendable {
        public var fileVersion: String?
        public var scalars: [Scalar]
        public var recordCount: Int
    }

    public static func read(path: String) throws -> Contents {
        guard let data = FileManager.default.contents(atPath: path) else { throw LoggingError("\(path): cannot read file") }
        return try parse([UInt8](data), path: path)
    }

    /// Splits `bytes` into TFRecords and decodes each `Event`; throws on a bad frame, CRC or protobuf.
    public static func parse(_ bytes: [UInt8], path: String = "<memory>") throws -> Contents {
        var contents = Contents(fileVersion: nil, scalars: [], recordCount: 0)
        var offset = 0
        while offset < bytes.count {
            guard offset + 12 <= bytes.count else { throw LoggingError("\(path): truncated record header at byte \(offset)") }
            let lengthBytes = Array(bytes[offset..<offset + 8])
            let length = lengthBytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            guard readUInt32(bytes, offset + 8) == CRC32C.masked(CRC32C.checksum(lengthBytes)) else {
                throw LoggingError("\(path): length CRC mismatch in record at byte \(offset)")
            }
            let start = offset + 12
            guard length <= UInt64(bytes.count), start + Int(length) + 4 <= bytes.count else {
                throw LoggingError("\(path): record at byte \(offset) claims \(length) bytes, past the end of the file")
            }
            let end = start + Int(length)
            let payload = Array(bytes[start..<end])
            guard readUInt32(bytes, end) == CRC32C.masked(CRC32C.checksum(payload)) else {
                throw LoggingError("\(path): data CRC mismatch in record at byte \(offset)")
            }
            try decodeEvent(payload, into: &contents, path: path)
            contents.recordCount += 1
            offset = end + 4
        }
        return contents
    }

    private static func readUInt32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) }
    }

    private static func decodeEvent(_ payload: [UInt8], into contents: inout Contents, path: String) throws {
        var wallTime = 0.0, step: Int64 = 0
        var values: [(String, Float)] = []
        var fields = ProtobufFields(payload, path: path)
        while let field = try fields.next() {
            switch (field.number, field.value) {
            case (TensorBoardEvent.wallTimeField, .fixed64(let bits)): wallTime = Double(bitPattern: bits)
            case (TensorBoardEvent.stepField, .varint(let v)): step = Int64(bitPattern: v)
            case (TensorBoardEvent.fileVersionField, .bytes(let b)): contents.fileVersion = String(decoding: b, as: UTF8.self)
            case (TensorBoardEvent.summaryField, .bytes(let summary)):
                var summaryFields = ProtobufFields(summary, path: path)
                while let s = try summaryFields.next() {
                    guard s.number == TensorBoardEvent.summaryValueField, case .bytes(let valueBytes) = s.value else { continue }
                    var tag = "", simple: Float?
                    var valueFields = ProtobufFields(valueBytes, path: path)
                    while let v = try valueFields.next() {
                        switch (v.number, v.value) {
                        case (TensorBoardEvent.valueTagField, .bytes(let b)): tag = String(decoding: b, as: UTF8.self)
                        case (TensorBoardEvent.valueSimpleValueField, .fixed32(let bits)): simple = Float(bitPattern: bits)
                        default: break
                        }
                    }
                    if let simple { values.append((tag, simple)) }
                }
            default: break
            }
        }
        for (tag, value) in values { contents.scalars.append(Scalar(tag: tag, value: value, step: step, wallTime: wallTime)) }
    }
}

/// Iterates the fields of one protobuf message.
struct ProtobufFields {
    enum Value { case varint(UInt64), fixed64(UInt64), bytes([UInt8]), fixed32(UInt32) }
    struct Field { var number: Int; var value: Value }

    private let bytes: [UInt8]
    private let path: String
    private var offset = 0

    init(_ bytes: [UInt8], path: String) {
        self.bytes = bytes
        self.path = path
    }

    private mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0, shift: UInt64 = 0
        while true {
            guard offset < bytes.count, shift < 64 else { throw LoggingError("\(path): malformed protobuf varint") }
            let byte = bytes[offset]
            offset += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    private mutating func fixed(_ count: Int) throws -> UInt64 {
        guard offset + count <= bytes.count else { throw LoggingError("\(path): truncated protobuf fixed field") }
        var v: UInt64 = 0
        for i in 0..<count { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
        offset += count
        return v
    }

    mutating func next() throws -> Field? {
        if offset >= bytes.count { return nil }
        let key = try varint()
        let number = Int(key >> 3)
        switch key & 7 {
        case 0: return Field(number: number, value: .varint(try varint()))
        case 1: return Field(number: number, value: .fixed64(try fixed(8)))
        case 5: return Field(number: number, value: .fixed32(UInt32(try fixed(4))))
        case 2:
            let length = try varint()
            guard length <= UInt64(bytes.count - offset) else { throw LoggingError("\(path): protobuf field longer than its message") }
            let value = Array(bytes[offset..<offset + Int(length)])
            offset += Int(length)
            return Field(number: number, value: .bytes(value))
        default:
            throw LoggingError("\(path): unsupported protobuf wire type \(key & 7)")
        }
    }
}
