/// The few protobuf wire-format pieces a TensorBoard `Event` needs, encoded by hand.
///
/// Field keys are `(field number << 3) | wire type`; wire types used: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32.
struct ProtobufEncoder {
    private(set) var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    private mutating func key(_ field: Int, _ wireType: UInt64) { varint(UInt64(field) << 3 | wireType) }

    /// An int64 field; negative values take ten bytes, as protobuf's two's-complement varint.
    mutating func int64(_ field: Int, _ value: Int64) {
        key(field, 0)
        varint(UInt64(bitPattern: value))
    }

    mutating func double(_ field: Int, _ value: Double) {
        key(field, 1)
        littleEndian(value.bitPattern, bytes: 8)
    }

    mutating func float(_ field: Int, _ value: Float) {
        key(field, 5)
        littleEndian(UInt64(value.bitPattern), bytes: 4)
    }

    mutating func bytesField(_ field: Int, _ payload: [UInt8]) {
        key(field, 2)
        varint(UInt64(payload.count))
        bytes.append(contentsOf: payload)
    }

    mutating func string(_ field: Int, _ value: String) { bytesField(field, Array(value.utf8)) }

    mutating func message(_ field: Int, _ build: (inout ProtobufEncoder) -> Void) {
        var inner = ProtobufEncoder()
        build(&inner)
        bytesField(field, inner.bytes)
    }

    private mutating func littleEndian(_ value: UInt64, bytes count: Int) {
        for i in 0..<count { bytes.append(UInt8((value >> (8 * UInt64(i))) & 0xFF)) }
    }
}

/// TensorBoard's `Event` messages (tensorflow/core/util/event.proto, summary.proto) for scalar logging.
enum TensorBoardEvent {
    // Event fields.
    static let wallTimeField = 1, stepField = 2, fileVersionField = 3, summaryField = 5
    // Summary.value and Summary.Value fields.
    static let summaryValueField = 1, valueTagField = 1, valueSimpleValueField = 2

    /// The first event of every file: `file_version: "brain.Event:2"`, which readers check.
    static func fileVersion(wallTime: Double) -> [UInt8] {
        var e = ProtobufEncoder()
        e.double(wallTimeField, wallTime)
        e.string(fileVersionField, "brain.Event:2")
        return e.bytes
    }

    /// One scalar as `Event{wall_time, step, summary{value{tag, simple_value}}}`.
    static func scalar(tag: String, value: Float, step: Int64, wallTime: Double) -> [UInt8] {
        var e = ProtobufEncoder()
        e.double(wallTimeField, wallTime)
        e.int64(stepField, step)
        e.message(summaryField) { summary in
            summary.message(summaryValueField) { v in
                v.string(valueTagField, tag)
                v.float(valueSimpleValueField, value)
            }
        }
        return e.bytes
    }
}

/// TFRecord framing: uint64 length, masked CRC-32C of the length, the data, masked CRC-32C of the data (all little-endian).
enum TFRecord {
    static func frame(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.count + 16)
        let length = UInt64(data.count)
        for i in 0..<8 { out.append(UInt8((length >> (8 * UInt64(i))) & 0xFF)) }
        let lengthCRC = CRC32C.masked(CRC32C.checksum(Array(out[0..<8])))
        append32(lengthCRC, to: &out)
        out.append(contentsOf: data)
        append32(CRC32C.masked(CRC32C.checksum(data)), to: &out)
        return out
    }

    private static func append32(_ value: UInt32, to out: inout [UInt8]) {
        for i in 0..<4 { out.append(UInt8((value >> (8 * UInt32(i))) & 0xFF)) }
    }
}
