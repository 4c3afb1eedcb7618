import Foundation
import XCTest
@testable import Checkpoint

final class CheckpointCompressionTests: XCTestCase {
    /// Trained-like weights: N(0, 0.02) init, then 20 deterministic SGD + weight-decay steps (see `TestData.trainedLike`).
    func testShuffleFilterBeatsPlainZstdOnTrainedLikeWeights() throws {
        let directory = try makeScratchDirectory(self)
        let tensors = [
            CheckpointTensor(name: "attn.in_proj_weight", shape: [384, 512], values: TestData.trainedLike(rows: 384, columns: 512, seed: 21)),
            CheckpointTensor(name: "mlp.c_fc.weight", shape: [256, 512], values: TestData.normal(256 * 512, seed: 22)),
        ]
        var ratios: [CheckpointFilter: Double] = [:]
        for filter in [CheckpointFilter.none, .shuffle4] {
            let summary = try CheckpointFile.write(tensors, step: 0, metadataValue: .null,
                                                   to: directory.appendingPathComponent("\(filter).sclip"),
                                                   options: CheckpointWriteOptions(filter: filter))
            ratios[filter] = summary.compressionRatio
        }
        let shuffled = try XCTUnwrap(ratios[.shuffle4]), plain = try XCTUnwrap(ratios[.none])
        print("compression ratio on trained-like weights: shuffle4+zstd-3 \(shuffled), plain zstd-3 \(plain)")
        XCTAssertGreaterThan(plain, 1.0)
        XCTAssertGreaterThan(shuffled, plain * 1.08, "shuffle4 should clearly beat plain zstd on float weights")
    }

    func testBenchmarkReportsConsistentFigures() throws {
        let tensors = (0..<4).map { index in
            CheckpointTensor(name: "layer\(index).weight", shape: [768, 768],
                             values: TestData.trainedLike(rows: 768, columns: 768, seed: UInt64(30 + index)))
        }
        let figures = try CheckpointBenchmark.run(tensors: tensors)
        print("checkpoint benchmark on \(tensors.count) × 768×768 trained-like tensors (9.4 MB): \(figures.sorted { $0.key < $1.key })")
        XCTAssertEqual(Set(figures.keys), ["compression_ratio", "plain_zstd_ratio", "save_mb_per_s", "load_mb_per_s"])
        XCTAssertGreaterThan(try XCTUnwrap(figures["compression_ratio"]), try XCTUnwrap(figures["plain_zstd_ratio"]))
        XCTAssertGreaterThan(try XCTUnwrap(figures["save_mb_per_s"]), 1)
        XCTAssertGreaterThan(try XCTUnwrap(figures["load_mb_per_s"]), 1)
    }
}
