import Foundation
import XCTest
@testable import Checkpoint

final class CheckpointRoundTripTests: XCTestCase {
    private func sampleTensors() -> [CheckpointTensor] {
        [
            CheckpointTensor(name: "visual.conv1.weight", shape: [64, 3, 4, 4], values: TestData.normal(64 * 48, seed: 1)),
            CheckpointTensor(name: "bits", shape: [1001], values: TestData.arbitraryBits(1001, seed: 2)),
            CheckpointTensor(name: "logit_scale", shape: [], values: [4.6052]),
            CheckpointTensor(name: "empty", shape: [0], values: []),
            CheckpointTensor(name: "empty.2d", shape: [3, 0], values: []),
            CheckpointTensor(name: "odd.length", shape: [7, 3], values: TestData.normal(21, seed: 3)),
            // Adam moments at step 0: all zeros, the most compressible tensor a checkpoint holds.
            CheckpointTensor(name: "adam.exp_avg.zeros", shape: [1024, 1024], values: [Float](repeating: 0, count: 1 << 20)),
            CheckpointTensor(name: "token_embedding.weight", shape: [512, 257], values: TestData.trainedLike(rows: 512, columns: 257, seed: 4)),
        ]
    }

    private func assertBitExact(_ loaded: [CheckpointTensor], _ expected: [CheckpointTensor], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(loaded.map(\.name), expected.map(\.name), file: file, line: line)
        for (got, want) in zip(loaded, expected) {
            XCTAssertTrue(got.isBitwiseEqual(to: want), "tensor \(want.name) differs after the round trip", file: file, line: line)
        }
    }

    func testRoundTripIsBitExactForEveryFilterAndCodec() throws {
        let directory = try makeScratchDirectory(self)
        let tensors = sampleTensors()
        // The filters a writer is asked for; `shuffle2` is what `shuffle4` becomes for 16-bit tensors (CheckpointDTypeTests).
        for filter in [CheckpointFilter.none, .shuffle4] {
            for codec in CheckpointCodec.allCases {
                for workers in [0, 2] {
                    let url = directory.appendingPathComponent("\(filter)-\(codec)-\(workers).sclip")
                    let options = CheckpointWriteOptions(compressionWorkers: workers, jobSizeBytes: workers > 0 ? 512 * 1024 : 0,
                                                         filter: filter, codec: codec)
                    let summary = try CheckpointFile.write(tensors, step: 7, metadata: RunState.example, to: url, options: options)
                    let loaded = try CheckpointFile.read(at: url)
                    assertBitExact(loaded.tensors, tensors)
                    XCTAssertEqual(loaded.step, 7)
                    XCTAssertEqual(loaded.tensor(named: "logit_scale")?.shape, [])
                    XCTAssertEqual(loaded.header.tensors.map(\.filter), Array(repeating: filter, count: tensors.count))
                    XCTAssertEqual(loaded.header.tensors.map(\.codec), Array(repeating: codec, count: tensors.count))
                    let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
                    XCTAssertEqual((attributes[.size] as? NSNumber)?.intValue, summary.fileBytes)
                    XCTAssertEqual(loaded.header.fileSize, summary.fileBytes)
                    if codec == .zstd {
                        let zeros = try XCTUnwrap(loaded.header.tensors.first { $0.name == "adam.exp_avg.zeros" })
                        XCTAssertLessThan(zeros.compressedSize, 2048, "zeros should compress to almost nothing")
                    }
                }
            }
        }
    }

    func testHeaderRecordsTensorTableAndAlignedOffsets() throws {
        let url = try makeScratchDirectory(self).appendingPathComponent("table.sclip")
        let tensors = sampleTensors()
        try CheckpointFile.write(tensors, step: 1, metadata: RunState.example, to: url)
        let header = try CheckpointFile.readHeader(at: url)
        XCTAssertEqual(header.format, "swiftclip-checkpoint")
        XCTAssertEqual(header.formatVersion, 1)
        XCTAssertEqual(header.tensors.map(\.shape), tensors.map(\.shape))
        XCTAssertEqual(header.tensors.map(\.rawSize), tensors.map { $0.values.count * 4 })
        XCTAssertTrue(header.tensors.allSatisfy { $0.offset % 64 == 0 && $0.dtype == "float32" })
        for (record, tensor) in zip(header.tensors, tensors) {
            let expected = tensor.values.withUnsafeBytes { xxh3($0) }
            XCTAssertEqual(record.checksum, hex(expected), "raw checksum of \(tensor.name)")
        }
        // Payloads must not overlap and must lie after the header.
        let sorted = header.tensors.sorted { $0.offset < $1.offset }
        for (previous, next) in zip(sorted, sorted.dropFirst()) {
            XCTAssertLessThanOrEqual(previous.offset + previous.compressedSize, next.offset)
        }
    }

    func testRunMetadataRoundTrips() throws {
        let url = try makeScratchDirectory(self).appendingPathComponent("meta.sclip")
        var state = RunState.example
        state.lastLoss = .nan
        try CheckpointFile.write([], step: 1234, metadata: state, to: url)
        let loaded = try CheckpointFile.read(at: url)
        var decoded = try loaded.metadata(as: RunState.self)
        XCTAssertTrue(decoded.lastLoss.isNaN)
        decoded.lastLoss = RunState.example.lastLoss
        XCTAssertEqual(decoded, RunState.example)
        XCTAssertEqual(loaded.header.metadata["shuffleSeed"], .unsigned(0xDEAD_BEEF_CAFE_F00D))
        XCTAssertEqual(loaded.header.metadata["worldSize"], .integer(16))
        XCTAssertEqual(loaded.header.metadata["stage"], .string("main"))
        XCTAssertTrue(loaded.tensors.isEmpty)
    }

    func testInvalidTensorsAreRejectedBeforeWriting() throws {
        let directory = try makeScratchDirectory(self)
        let url = directory.appendingPathComponent("bad.sclip")
        let wrongCount = checkpointErrorDescription {
            try CheckpointFile.write([CheckpointTensor(name: "w", shape: [2, 3], values: [1, 2, 3])], step: 0, metadataValue: .null, to: url)
        }
        XCTAssertTrue(wrongCount.contains("'w'") && wrongCount.contains("6 values"), wrongCount)
        let duplicate = checkpointErrorDescription {
            let tensor = CheckpointTensor(name: "w", shape: [1], values: [1])
            try CheckpointFile.write([tensor, tensor], step: 0, metadataValue: .null, to: url)
        }
        XCTAssertTrue(duplicate.contains("more than once"), duplicate)
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [])
    }

    func testShuffleProducesBytePlanesAndInvertsForAllLengths() {
        let words: [UInt32] = (0..<19).map { UInt32($0) | 0x0100_0000 * UInt32($0 % 7) | 0x0001_0000 * 0xAB | 0x0000_0100 * UInt32(2 * $0) }
        var planes = [UInt8](repeating: 0, count: words.count * 4)
        words.withUnsafeBytes { source in
            planes.withUnsafeMutableBytes { ByteShuffle.shuffle4(source.baseAddress!, into: $0.baseAddress!, count: words.count) }
        }
        for (index, word) in words.enumerated() {
            XCTAssertEqual(planes[index], UInt8(word & 0xFF))
            XCTAssertEqual(planes[words.count + index], UInt8((word >> 8) & 0xFF))
            XCTAssertEqual(planes[2 * words.count + index], UInt8((word >> 16) & 0xFF))
            XCTAssertEqual(planes[3 * words.count + index], UInt8(word >> 24))
        }
        for count in [0, 1, 7, 8, 9, 16, 1000, 1003] {
            let values = TestData.arbitraryBits(count, seed: UInt64(count))
            var shuffled = [UInt8](repeating: 0, count: count * 4 + 1)
            var restored = [Float](repeating: 0, count: count + 1)
            values.withUnsafeBytes { source in
                shuffled.withUnsafeMutableBytes { ByteShuffle.shuffle4(source.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!, into: $0.baseAddress!, count: count) }
            }
            shuffled.withUnsafeBytes { source in
                restored.withUnsafeMutableBytes { ByteShuffle.unshuffle4(source.baseAddress!, into: $0.baseAddress!, count: count) }
            }
            XCTAssertTrue(CheckpointTensor(name: "x", shape: [count], values: Array(restored.prefix(count)))
                .isBitwiseEqual(to: CheckpointTensor(name: "x", shape: [count], values: values)), "count \(count)")
        }
    }

    func testJSONValueKeepsIntegersExact() throws {
        let value = try JSONValue(encoding: ["big": UInt64.max, "negative": UInt64(0)])
        XCTAssertEqual(value["big"], .unsigned(UInt64.max))
        XCTAssertEqual(try value.decode(as: [String: UInt64].self), ["big": UInt64.max, "negative": 0])
        let mixed = try JSONValue(encoding: RunState.example)
        XCTAssertEqual(try mixed.decode(as: RunState.self), RunState.example)
    }
}
