import Foundation
@testable import Retrieval
import TrainingKit
import XCTest

/// `swiftclip hard-negatives --mode nearest`: over a hand-made embeddings folder whose neighbours are known, each sample's
/// negatives are the captions nearest its image, nearest first, never its own caption (nor another sample's identical
/// one); bad folders are errors naming the file.
final class NearestHardNegativesTests: XCTestCase {
    var scratch = ""

    override func setUpWithError() throws {
        scratch = NSTemporaryDirectory() + "nearest-negatives-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: scratch) }

    /// One sample: its key, caption, and 2-d image and caption embeddings.
    typealias Row = (key: String, caption: String?, image: [Float], text: [Float])

    /// Two shards; `s1.tar:d` has `s0.tar:a`'s caption (and text embedding), which is its image's nearest caption.
    static let rows: [[Row]] = [
        [("s0.tar:a", "red circle", [1, 0], [1, 0]),
         ("s0.tar:b", "red square", [0.8, 0.6], [0.8, 0.6]),
         ("s0.tar:c", "blue circle", [0.1, 0.995], [0, 1])],
        [("s1.tar:d", "red circle", [0.9, 0.1], [1, 0]),
         ("s1.tar:e", "green", [-1, 0], [-1, 0])],
    ]

    /// Writes `shards` as `swiftclip embed` does (record per shard, then the manifest); without caption embeddings when `texts` is false.
    func writeFolder(_ name: String, _ shards: [[Row]] = rows, texts: Bool = true) throws -> String {
        let directory = scratch + "/" + name
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let model = ModelIdentity(family: "clip", configHash: "c", step: 1, parametersHash: "p")
        var records: [EmbeddingShardRecord] = []
        for (index, shard) in shards.enumerated() {
            let files = EmbeddingShardFiles(directory: directory, name: "s\(index)")
            func matrix(_ values: [Float]) -> NumpyMatrix { NumpyMatrix(rows: shard.count, columns: 2, dtype: .f32, values: values) }
            try files.write(images: matrix(shard.flatMap(\.image)), texts: texts ? matrix(shard.flatMap(\.text)) : nil,
                            metadata: shard.map { EmbeddingMetadataRow(key: $0.key, caption: $0.caption, source: "s\(index).tar") },
                            origin: "s\(index).tar", model: model, skipped: 0)
            records.append(try files.readRecord())
        }
        try EmbeddingManifest(model: model, dtype: .f32, dimension: 2, records: records).write(directory: directory)
        return directory
    }

    func testNearestCaptionsFirstWithoutTheSamplesOwnCaption() throws {
        let directory = try writeFolder("embeddings")
        let negatives = try HardNegativeMining.nearestCaptions(embeddings: directory, count: 2)
        XCTAssertEqual(negatives.map(\.key), ["s0.tar:a", "s0.tar:b", "s0.tar:c", "s1.tar:d", "s1.tar:e"])
        XCTAssertEqual(negatives.map(\.texts), [
            ["red square", "blue circle"],  // its own caption scores 1 and is left out
            ["red circle", "blue circle"],
            ["red square", "red circle"],
            ["red square", "blue circle"],  // a's caption is nearest (0.9) but identical to its own
            ["blue circle", "red square"],
        ])
        // More than there are: every other distinct caption, once.
        for entry in try HardNegativeMining.nearestCaptions(embeddings: directory, count: 10) {
            XCTAssertEqual(entry.texts.count, 3, entry.key)
            XCTAssertEqual(Set(entry.texts).count, 3, entry.key)
        }
        let output = scratch + "/negatives.jsonl"
        let summary = try HardNegativeMining.nearest(embeddings: directory, count: 1, output: output)
        XCTAssertEqual([summary.samples, summary.samplesWithNegatives, summary.negatives], [5, 5, 5])
        let file = try HardNegativeFile(contentsOf: output)
        XCTAssertEqual(file.texts, ["s0.tar:a": ["red square"], "s0.tar:b": ["red circle"], "s0.tar:c": ["red square"],
                                    "s1.tar:d": ["red square"], "s1.tar:e": ["blue circle"]])
    }

    /// `--kind images`: each sample's negatives are the other samples whose images are nearest its caption, nearest first,
    /// never itself nor a sample with the same caption (`s0.tar:a` and `s1.tar:d` share "red circle").
    func testNearestImagesFirstWithoutTheSampleOrItsCaptionsOtherImages() throws {
        let directory = try writeFolder("embeddings")
        let negatives = try HardNegativeMining.nearestImages(embeddings: directory, count: 2)
        XCTAssertEqual(negatives.map(\.key), ["s0.tar:a", "s0.tar:b", "s0.tar:c", "s1.tar:d", "s1.tar:e"])
        XCTAssertEqual(negatives.map(\.images), [
            ["s0.tar:b", "s0.tar:c"],  // its own image (1) and d's (0.9, same caption) are left out
            ["s0.tar:a", "s1.tar:d"],
            ["s0.tar:b", "s1.tar:d"],
            ["s0.tar:b", "s0.tar:c"],
            ["s0.tar:c", "s0.tar:b"],
        ])
        let all = try HardNegativeMining.nearestImages(embeddings: directory, count: 10)
        XCTAssertEqual(all.map(\.images.count), [3, 4, 4, 3, 4])
        let output = scratch + "/image-negatives.jsonl"
        let summary = try HardNegativeMining.nearest(embeddings: directory, count: 1, kind: .images, output: output)
        XCTAssertEqual([summary.samples, summary.samplesWithNegatives, summary.negatives], [5, 5, 5])
        let file = try HardNegativeFile(contentsOf: output)
        XCTAssertEqual(file.images, ["s0.tar:a": ["s0.tar:b"], "s0.tar:b": ["s0.tar:a"], "s0.tar:c": ["s0.tar:b"],
                                     "s1.tar:d": ["s0.tar:b"], "s1.tar:e": ["s0.tar:c"]])
        XCTAssertTrue(file.texts.isEmpty)
        let both = try HardNegativeMining.nearest(embeddings: directory, count: 1, kind: .both, output: output)
        XCTAssertEqual([both.samples, both.samplesWithNegatives, both.negatives], [5, 5, 10])
        let bothFile = try HardNegativeFile(contentsOf: output)
        XCTAssertEqual(bothFile.images, file.images)
        XCTAssertEqual(bothFile.texts["s0.tar:a"], ["red square"])
    }

    func testBadFoldersAreErrorsNamingTheFile() throws {
        func expectError(_ directory: String, count: Int = 1, _ fragments: String...) {
            XCTAssertThrowsError(try HardNegativeMining.nearestCaptions(embeddings: directory, count: count)) { error in
                for fragment in fragments { XCTAssert("\(error)".contains(fragment), "'\(error)' lacks '\(fragment)'") }
                XCTAssertFalse("\(error)".contains("\n"), "\(error)")
            }
        }
        expectError(scratch + "/absent", scratch + "/absent/manifest.json", "missing")
        expectError(try writeFolder("images-only", texts: false), scratch + "/images-only", "no caption embeddings")
        expectError(try writeFolder("valid"), count: 0, scratch + "/valid", "must be positive")

        var uncaptioned = Self.rows
        uncaptioned[1][1].caption = nil
        expectError(try writeFolder("uncaptioned", uncaptioned), scratch + "/uncaptioned/s1.meta.jsonl", "row 1 has no caption")

        let short = try writeFolder("short")
        let metadata = short + "/s0.meta.jsonl"
        let lines = try String(contentsOfFile: metadata, encoding: .utf8).split(separator: "\n")
        try (lines.dropLast().joined(separator: "\n") + "\n").write(toFile: metadata, atomically: true, encoding: .utf8)
        expectError(short, metadata, "row 2 missing")

        let damaged = try writeFolder("damaged")
        try Data([0x93, 0x4E]).write(to: URL(fileURLWithPath: damaged + "/s1.txt.npy"))
        expectError(damaged, damaged + "/s1.txt.npy", "checksum")
    }
}
