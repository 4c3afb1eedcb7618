import Foundation
import TensorCore
import XCTest
@testable import Checkpoint

/// Tensors stored as bfloat16 or float16: each value rounded to nearest (ties to even) once, widened exactly on load.
final class CheckpointDTypeTests: XCTestCase {
    private let weights = TestData.trainedLike(rows: 256, columns: 384, seed: 41)

    func testSixteenBitTensorsLoadAsTheirRoundedValuesAtHalfTheRawSize() throws {
        let directory = try makeScratchDirectory(self)
        for dtype in [StorageDType.bf16, .f16] {
            for filter in [CheckpointFilter.none, .shuffle4] {
                let tensors = [
                    CheckpointTensor(name: "w", shape: [256, 384], values: weights, dtype: dtype),
                    CheckpointTensor(name: "logit_scale", shape: [], values: [4.6052], dtype: dtype),
                    CheckpointTensor(name: "empty", shape: [0], values: [], dtype: dtype),
                    CheckpointTensor(name: "kept.f32", shape: [3], values: [1, 1e-8, 3e38]),
                ]
                let url = directory.appendingPathComponent("\(dtype)-\(filter).sclip")
                try CheckpointFile.write(tensors, step: 3, metadata: RunState.example, to: url, options: CheckpointWriteOptions(filter: filter))
                let loaded = try CheckpointFile.read(at: url)
                XCTAssertEqual(loaded.tensors.map(\.dtype), [dtype, dtype, dtype, .f32])
                for (got, written) in zip(loaded.tensors, tensors) {
                    XCTAssertEqual(got.values.map(\.bitPattern), written.values.map { dtype == written.dtype ? dtype.rounded($0).bitPattern : $0.bitPattern },
                                   "\(dtype) \(filter) \(written.name)")
                }
                let record = try XCTUnwrap(loaded.header.tensors.first)
                XCTAssertEqual(record.dtype, dtype.longName)
                XCTAssertEqual(record.rawSize, 256 * 384 * 2)
                XCTAssertEqual(record.filter, filter == .none ? .none : .shuffle2)
                XCTAssertEqual(try CheckpointFile.verify(at: url).tensors.count, 4)
            }
        }
    }

    func testBFloat16CheckpointIsAboutHalfTheFloat32One() throws {
        let directory = try makeScratchDirectory(self)
        var sizes: [StorageDType: Int] = [:]
        for dtype in StorageDType.allCases {
            let tensors = [CheckpointTensor(name: "w", shape: [256, 384], values: weights, dtype: dtype)]
            sizes[dtype] = try CheckpointFile.write(tensors, step: 0, metadataValue: .null,
                                                    to: directory.appendingPathComponent("\(dtype).sclip")).fileBytes
        }
        let f32 = Double(try XCTUnwrap(sizes[.f32]))
        for dtype in [StorageDType.bf16, .f16] {
            let ratio = Double(try XCTUnwrap(sizes[dtype])) / f32
            XCTAssertLessThan(ratio, 0.62, "\(dtype) file / f32 file = \(ratio)")
            XCTAssertGreaterThan(ratio, 0.3, "\(dtype) file / f32 file = \(ratio)")
        }
    }

    func testValueBeyondFloat16RangeIsRefusedNamingTheTensor() throws {
        let url = try makeScratchDirectory(self).appendingPathComponent("overflow.sclip")
        let message = checkpointErrorDescription {
            try CheckpointFile.write([CheckpointTensor(name: "big", shape: [2], values: [1, 70_000], dtype: .f16)], step: 0,
                                     metadataValue: .null, to: url)
        }
        XCTAssertTrue(message.contains("'big'") || message.contains("big"), message)
        XCTAssertTrue(message.contains("beyond the range of float16"), message)
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
    }

    func testUnknownDTypeAndMismatchedRawSizeAreNamed() throws {
        let directory = try makeScratchDirectory(self)
        let unknown = directory.appendingPathComponent("unknown.sclip")
        try CheckpointFile.write([CheckpointTensor(name: "w", shape: [4], values: [1, 2, 3, 4], dtype: .bf16)], step: 0,
                                 metadataValue: .null, to: unknown)
        try forgeHeaderBytes(unknown) { json in
            let text = String(decoding: json, as: UTF8.self).replacingOccurrences(of: "\"bfloat16\"", with: "\"bfloat61\"")
            json = Array(text.utf8)
        }
        let unknownMessage = checkpointErrorDescription { _ = try CheckpointFile.read(at: unknown) }
        XCTAssertTrue(unknownMessage.contains("tensor 'w': unsupported dtype 'bfloat61' (float32, bfloat16, float16)"), unknownMessage)

        let claimed = directory.appendingPathComponent("claimed.sclip")
        try CheckpointFile.write([CheckpointTensor(name: "w", shape: [4], values: [1, 2, 3, 4])], step: 0, metadataValue: .null, to: claimed)
        try forgeHeaderBytes(claimed) { json in
            let text = String(decoding: json, as: UTF8.self).replacingOccurrences(of: "\"float32\"", with: "\"float16\"")
            json = Array(text.utf8)
        }
        let claimedMessage = checkpointErrorDescription { _ = try CheckpointFile.read(at: claimed) }
        XCTAssertTrue(claimedMessage.contains("tensor 'w': shape [4] does not match raw size 16"), claimedMessage)
    }
}
