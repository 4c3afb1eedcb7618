import Foundation
import XCTest
@testable import Checkpoint

/// Damaged files must fail with one line naming the file and the problem, before any tensor is returned.
final class CheckpointCorruptionTests: XCTestCase {
    private var url: URL!
    private let tensors = [
        CheckpointTensor(name: "a", shape: [300], values: TestData.normal(300, seed: 10)),
        CheckpointTensor(name: "b.weight", shape: [40, 50], values: TestData.normal(2000, seed: 11)),
        CheckpointTensor(name: "c", shape: [], values: [1.5]),
    ]

    override func setUpWithError() throws {
        url = try makeScratchDirectory(self).appendingPathComponent("step-00000042.sclip")
        try CheckpointFile.write(tensors, step: 42, metadata: RunState.example, to: url)
    }

    private func record(_ name: String) throws -> CheckpointTensorRecord {
        try XCTUnwrap(CheckpointFile.readHeader(at: url).tensors.first { $0.name == name })
    }

    func testCorruptPayloadByteNamesTensorWithExpectedAndFoundChecksums() throws {
        let target = try record("b.weight")
        var corruptedPayloadChecksum: UInt64 = 0
        try editFile(url) { bytes in
            bytes[target.offset + target.compressedSize / 2] ^= 0x10
            corruptedPayloadChecksum = bytes[target.offset..<(target.offset + target.compressedSize)].withUnsafeBytes { xxh3($0) }
        }
        let message = checkpointErrorDescription { _ = try CheckpointFile.read(at: url) }
        XCTAssertTrue(message.contains(url.path), message)
        XCTAssertTrue(message.contains("tensor 'b.weight'"), message)
        XCTAssertTrue(message.contains("expected \(target.storedChecksum)"), message)
        XCTAssertTrue(message.contains("found \(hex(corruptedPayloadChecksum))"), message)
        XCTAssertThrowsError(try CheckpointFile.verify(at: url))
    }

    /// A payload whose stored checksum was forged still fails on the checksum of the decoded values.
    func testDecodedValuesChecksumCatchesWhatStoredChecksumMisses() throws {
        let plainURL = url.deletingLastPathComponent().appendingPathComponent("plain.sclip")
        try CheckpointFile.write(tensors, step: 1, metadataValue: .null, to: plainURL,
                                 options: CheckpointWriteOptions(filter: .none, codec: .none))
        let target = try XCTUnwrap(CheckpointFile.readHeader(at: plainURL).tensors.first { $0.name == "a" })
        try editFile(plainURL) { bytes in bytes[target.offset + 5] ^= 0x01 }
        try rewriteHeader(plainURL) { header, bytes in
            let index = header.tensors.firstIndex { $0.name == "a" }!
            let record = header.tensors[index]
            header.tensors[index].storedChecksum = hex(bytes[record.offset..<(record.offset + record.compressedSize)].withUnsafeBytes { xxh3($0) })
        }
        let message = checkpointErrorDescription { _ = try CheckpointFile.read(at: plainURL) }
        XCTAssertTrue(message.contains("tensor 'a': decoded values checksum mismatch: expected \(target.checksum)"), message)
    }

    func testTruncatedFileGivesClearError() throws {
        let fullSize = try Data(contentsOf: url).count
        try editFile(url) { bytes in bytes.removeLast(100) }
        let message = checkpointErrorDescription { _ = try CheckpointFile.read(at: url) }
        XCTAssertTrue(message.contains("\(url.path): truncated checkpoint: file has \(fullSize - 100) bytes, header declares \(fullSize)"), message)

        try editFile(url) { bytes in bytes.removeLast(bytes.count - 20) }
        let short = checkpointErrorDescription { _ = try CheckpointFile.read(at: url) }
        XCTAssertTrue(short.contains("truncated") && short.contains("32-byte preamble"), short)

        try editFile(url) { bytes in bytes.removeAll() }
        XCTAssertTrue(checkpointErrorDescription { _ = try CheckpointFile.read(at: url) }.contains("truncated"))
    }

    func testFileCutInsideHeaderIsTruncated() throws {
        try editFile(url) { bytes in bytes.removeLast(bytes.count - 100) }
        let message = checkpointErrorDescription { _ = try CheckpointFile.read(at: url) }
        XCTAssertTrue(message.contains("truncated checkpoint: header needs"), message)
    }

    func testBadMagicIsRejected() throws {
        try editFile(url) { bytes in bytes[0] = UInt8(ascii: "P") }
        let message = checkpointErrorDescription { _ = try CheckpointFile.read(at: url) }
        XCTAssertTrue(message.contains("\(url.path): not a SwiftCLIP checkpoint (magic bytes 50434c4950434b50"), message)
    }

    func testNewerFormatVersionIsRejected() throws {
        try editFile(url) { bytes in bytes[8] = 2 }
        let message = checkpointErrorDescription { _ = try CheckpointFile.read(at: url) }
        XCTAssertTrue(message.contains("format version 2 is not supported"), message)
    }

    func testHeaderCorruptionIsDetectedByChecksum() throws {
        try editFile(url) { bytes in
            // Change the model name "ViT-B-32" to "ViT-B-33": still valid JSON, so only the checksum can tell.
            let length = Int(bytes[16..<24].withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
            let json = Array(bytes[32..<(32 + length)])
            let needle = Array("ViT-B-32".utf8)
            let start = (0...(json.count - needle.count)).first { json[$0..<($0 + needle.count)].elementsEqual(needle) }!
            bytes[32 + start + needle.count - 1] = UInt8(ascii: "3")
        }
        let message = checkpointErrorDescription { _ = try CheckpointFile.read(at: url) }
        XCTAssertTrue(message.contains("header checksum mismatch: expected"), message)
        XCTAssertThrowsError(try CheckpointFile.readHeader(at: url))
    }

    func testTrailingGarbageIsRejected() throws {
        try editFile(url) { bytes in bytes.append(contentsOf: [1, 2, 3]) }
        let message = checkpointErrorDescription { _ = try CheckpointFile.read(at: url) }
        XCTAssertTrue(message.contains("3 bytes beyond the declared"), message)
    }

    func testMissingFileIsReported() throws {
        let missing = url.deletingLastPathComponent().appendingPathComponent("nope.sclip")
        XCTAssertEqual(checkpointErrorDescription { _ = try CheckpointFile.read(at: missing) }, "\(missing.path): checkpoint file not found")
    }

    func testUnknownFilterIsNamedInOneLine() throws {
        try forgeHeaderBytes(url) { json in
            let needle = Array("shuffle4".utf8)
            let start = (0...(json.count - needle.count)).first { json[$0..<($0 + needle.count)].elementsEqual(needle) }!
            json[start + 7] = UInt8(ascii: "8")
        }
        let message = checkpointErrorDescription { _ = try CheckpointFile.read(at: url) }
        XCTAssertTrue(message.contains("malformed header: field 'tensors[0].filter'"), message)
    }

    /// With several decoding threads the reported tensor is still the first corrupt one in file order.
    func testParallelLoadReportsFirstCorruptTensor() throws {
        let big = (0..<6).map { CheckpointTensor(name: "t\($0)", shape: [512, 1024], values: TestData.normal(512 * 1024, seed: UInt64(50 + $0))) }
        let bigURL = url.deletingLastPathComponent().appendingPathComponent("big.sclip")
        try CheckpointFile.write(big, step: 3, metadataValue: .null, to: bigURL)
        for threads in [1, 3] {
            let loaded = try CheckpointFile.read(at: bigURL, maxThreads: threads)
            XCTAssertTrue(zip(loaded.tensors, big).allSatisfy { $0.isBitwiseEqual(to: $1) }, "threads \(threads)")
        }
        let records = try CheckpointFile.readHeader(at: bigURL).tensors
        try editFile(bigURL) { bytes in
            for index in [4, 2] { bytes[records[index].offset + 100] ^= 0x40 }
        }
        for threads in [1, 3] {
            XCTAssertTrue(checkpointErrorDescription { _ = try CheckpointFile.read(at: bigURL, maxThreads: threads) }.contains("tensor 't2'"))
            XCTAssertTrue(checkpointErrorDescription { _ = try CheckpointFile.verify(at: bigURL, maxThreads: threads) }.contains("tensor 't2'"))
        }
    }

    /// Replaces the JSON header (keeping its reserved space) and fixes the header checksum, as a forger would.
    private func rewriteHeader(_ file: URL, _ edit: (inout CheckpointHeader, [UInt8]) -> Void) throws {
        try editFile(file) { bytes in
            let length = Int(bytes[16..<24].withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
            var header = try! JSONValue.decoder().decode(CheckpointHeader.self, from: Data(bytes[32..<(32 + length)]))
            edit(&header, bytes)
            let json = [UInt8](try! CheckpointFormat.headerEncoder().encode(header))
            XCTAssertEqual(json.count, length)
            let preamble = CheckpointFormat.preamble(headerLength: json.count, headerChecksum: json.withUnsafeBytes { xxh3($0) })
            bytes.replaceSubrange(0..<(32 + length), with: preamble + json)
        }
    }
}
