import Foundation
@testable import Training
import XCTest

/// CRC-32C, the hand-written protobuf of scalar events, and the event files TensorBoard reads.
final class TensorBoardTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftclip-tb-\(UUID().uuidString)").path
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Bit-at-a-time CRC-32C, the definition the table-driven version must agree with.
    private func referenceCRC(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }

    func testCRC32CKnownVectors() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([]), 0)
        // RFC 3720 (iSCSI) B.4 test patterns.
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8($0) }), 0x46DD_794E)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8(31 - $0) }), 0x113F_DB5C)
    }

    func testSliceBy8MatchesBitwiseDefinitionAtEveryAlignment() {
        var generator = SystemRandomNumberGenerator()
        for length in [1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            XCTAssertEqual(CRC32C.checksum(bytes), referenceCRC(bytes), "length \(length)")
            // Continuing a CRC over a split equals the CRC of the whole.
            let split = length / 3
            let first = CRC32C.checksum(Array(bytes[..<split]))
            let whole = Array(bytes[split...]).withUnsafeBytes { CRC32C.checksum($0, continuing: first) }
            XCTAssertEqual(whole, referenceCRC(bytes), "split at \(split) of \(length)")
        }
    }

    func testMaskedCRCRotatesAndAddsConstant() {
        XCTAssertEqual(CRC32C.masked(0), 0xA282_EAD8)
        // 1 rotated right by 15 is 1 << 17.
        XCTAssertEqual(CRC32C.masked(1), (1 << 17) + 0xA282_EAD8)
        XCTAssertEqual(CRC32C.masked(0x8000), 1 &+ 0xA282_EAD8)
    }

    func testScalarEventBytesMatchHandEncodedProtobuf() {
        let bytes = TensorBoardEvent.scalar(tag: "a", value: 2.0, step: 3, wallTime: 1.5)
        let expected: [UInt8] = [
            0x09, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F,   // wall_time (field 1, fixed64) = 1.5
            0x10, 0x03,                           // step (field 2, varint) = 3
            0x2A, 0x0A,                           // summary (field 5), 10 bytes
            0x0A, 0x08,                           //   value (field 1), 8 bytes
            0x0A, 0x01, 0x61,                     //     tag (field 1) = "a"
            0x15, 0, 0, 0, 0x40,                  //     simple_value (field 2, fixed32) = 2.0
        ]
        XCTAssertEqual(bytes, expected)
        let header = TensorBoardEvent.fileVersion(wallTime: 0)
        XCTAssertEqual(Array(header[9...]), [0x1A, 13] + Array("brain.Event:2".utf8))
    }

    func testVarintsOfLargeAndNegativeSteps() {
        var e = ProtobufEncoder()
        e.varint(300)
        XCTAssertEqual(e.bytes, [0xAC, 0x02])
        var n = ProtobufEncoder()
        n.int64(2, -1)
        XCTAssertEqual(n.bytes, [0x10] + [UInt8](repeating: 0xFF, count: 9) + [0x01])
    }

    func testWrittenFileParsesBackWithValidFramesAndScalars() throws {
        var time = 1_700_000_000.25
        let writer = try TensorBoardWriter(directory: directory) {
            time += 1
            return time
        }
        XCTAssertTrue(URL(fileURLWithPath: writer.path).lastPathComponent.hasPrefix("events.out.tfevents.1700000001."))
        try writer.scalar(tag: "train/loss", value: 4.85, step: 0)
        try writer.scalar(tag: "train/lr", value: 1e-4, step: 1)
        try writer.scalars(["val/image_to_text_R@1": 0.5, "val/clip_val_loss": 3.25], step: 1_234_567_890_123)
        try writer.scalar(tag: "neg", value: -7, step: -5)

        let contents = try TensorBoardEventReader.read(path: writer.path)
        XCTAssertEqual(contents.fileVersion, "brain.Event:2")
        XCTAssertEqual(contents.recordCount, 6)
        XCTAssertEqual(contents.scalars.map(\.tag), ["train/loss", "train/lr", "val/clip_val_loss", "val/image_to_text_R@1", "neg"])
        XCTAssertEqual(contents.scalars.map(\.value), [4.85, 1e-4, 3.25, 0.5, -7])
        XCTAssertEqual(contents.scalars.map(\.step), [0, 1, 1_234_567_890_123, 1_234_567_890_123, -5])
        XCTAssertEqual(contents.scalars.map(\.wallTime), [1_700_000_002.25, 1_700_000_003.25, 1_700_000_004.25, 1_700_000_005.25, 1_700_000_006.25])

        // Framing checked independently of the reader: the first length and its masked CRC.
        let bytes = [UInt8](FileManager.default.contents(atPath: writer.path)!)
        let length = (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) }
        XCTAssertEqual(length, TensorBoardEvent.fileVersion(wallTime: 1_700_000_001.25).count)
        let lengthCRC = (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[8 + $1]) << (8 * UInt32($1)) }
        XCTAssertEqual(lengthCRC, CRC32C.masked(referenceCRC(Array(bytes[0..<8]))))
        let dataCRC = (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[12 + length + $1]) << (8 * UInt32($1)) }
        XCTAssertEqual(dataCRC, CRC32C.masked(referenceCRC(Array(bytes[12..<(12 + length)]))))
    }

    func testCorruptionIsReportedWithThePath() throws {
        let writer = try TensorBoardWriter(directory: directory)
        try writer.scalar(tag: "x", value: 1, step: 1)
        var bytes = [UInt8](FileManager.default.contents(atPath: writer.path)!)
        bytes[bytes.count - 6] ^= 0x01  // inside the last record's data
        XCTAssertThrowsError(try TensorBoardEventReader.parse(bytes, path: "f.tfevents")) { error in
            XCTAssertEqual("\(error)", "f.tfevents: data CRC mismatch in record at byte 40")
        }
        XCTAssertThrowsError(try TensorBoardEventReader.parse(Array(bytes.dropLast(2)), path: "f")) { error in
            XCTAssertTrue("\(error)".contains("past the end of the file"), "\(error)")
        }
    }

    func testBufferedWriterWritesOnlyOnFlush() throws {
        let writer = try TensorBoardWriter(directory: directory, flushEveryWrite: false)
        try writer.scalar(tag: "a", value: 1, step: 1)
        XCTAssertEqual(try TensorBoardEventReader.read(path: writer.path).scalars.count, 0)
        try writer.flush()
        XCTAssertEqual(try TensorBoardEventReader.read(path: writer.path).scalars.count, 1)
        try writer.close()
        XCTAssertThrowsError(try writer.scalar(tag: "b", value: 2, step: 2))
    }

    func testTwoWritersInOneSecondGetTwoFiles() throws {
        let a = try TensorBoardWriter(directory: directory) { 100 }
        let b = try TensorBoardWriter(directory: directory) { 100 }
        XCTAssertNotEqual(a.path, b.path)
        XCTAssertEqual(b.path, a.path + ".1")
    }

    func testUnwritableDirectoryIsAOneLineError() {
        XCTAssertThrowsError(try TensorBoardWriter(directory: "/proc/swiftclip-no/such")) { error in
            XCTAssertTrue("\(error)".hasPrefix("/proc/swiftclip-no/such: cannot create directory"), "\(error)")
            XCTAssertFalse("\(error)".contains("\n"))
        }
    }
}
