@testable import DataPipeline
import Foundation
import XCTest

final class WebDatasetSubsetTests: XCTestCase {
    /// Two shards of `perShard` samples each: key "s<shard>-<i>" with a .txt caption and a .cls label.
    private func source(_ dir: String, perShard: Int = 10) throws -> String {
        for shard in 0..<2 {
            try writeShard("\(dir)/in-\(shard).tar", (0..<perShard).map { i in
                ("s\(shard)-\(i)", [("txt", Array("caption \(shard) \(i)".utf8)), ("cls", Array("\(i % 3)".utf8))])
            })
        }
        return "\(dir)/in-{0..1}.tar"
    }

    /// (name, contents) of every member of the shards, in order.
    private func members(_ paths: [String]) throws -> [(String, [UInt8])] {
        try paths.flatMap { path in
            let file = try RandomAccessFile(path: path)
            return try TarReader.scan(path: path).entries.map { ($0.name, try file.readBytes(count: $0.size, at: $0.dataOffset)) }
        }
    }

    func testChoosesDistinctSamplesInSourceOrderAndCopiesEveryMemberExactly() throws {
        let dir = try makeScratchDirectory(self)
        let spec = try source(dir)
        let summary = try WebDatasetSubset.write(shardSpec: spec, count: 7, seed: 3, outputDirectory: "\(dir)/out", samplesPerShard: 4)
        XCTAssertEqual(summary.written, 7)
        XCTAssertEqual(summary.available, 20)
        XCTAssertEqual(summary.shards.map { ($0 as NSString).lastPathComponent }, ["train-000.tar", "train-001.tar"])
        let copied = try members(summary.shards)
        XCTAssertEqual(copied.count, 14)
        let original = Dictionary(uniqueKeysWithValues: try members(["\(dir)/in-0.tar", "\(dir)/in-1.tar"]).map { ($0.0, $0.1) })
        for (name, contents) in copied { XCTAssertEqual(original[name], contents, name) }
        let keys = copied.map { ShardIndex.splitKey($0.0).key }.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        XCTAssertEqual(Set(keys).count, 7)
        let position = { (key: String) in key.hasPrefix("s0") ? Int(key.dropFirst(3))! : 10 + Int(key.dropFirst(3))! }
        XCTAssertEqual(keys.map(position), keys.map(position).sorted(), "source order is kept")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/out/train-000.tar.partial"))
    }

    func testTheSeedDecidesTheChoice() throws {
        XCTAssertEqual(WebDatasetSubset.choose(5, of: 100, seed: 1), WebDatasetSubset.choose(5, of: 100, seed: 1))
        XCTAssertNotEqual(WebDatasetSubset.choose(5, of: 100, seed: 1), WebDatasetSubset.choose(5, of: 100, seed: 2))
        XCTAssertEqual(WebDatasetSubset.choose(100, of: 100, seed: 7), Array(0..<100))
        // Every index is about equally likely to be chosen.
        var hits = [Int](repeating: 0, count: 10)
        for seed in 0..<2000 { for i in WebDatasetSubset.choose(3, of: 10, seed: UInt64(seed)) { hits[i] += 1 } }
        for count in hits { XCTAssertEqual(Double(count), 600, accuracy: 90) }
    }

    func testBadInputIsAnErrorNamingTheProblem() throws {
        let dir = try makeScratchDirectory(self)
        let spec = try source(dir)
        XCTAssertThrowsError(try WebDatasetSubset.write(shardSpec: spec, count: 21, seed: 0, outputDirectory: "\(dir)/out")) {
            XCTAssertTrue("\($0)".contains("holds 20 samples; cannot choose 21"), "\($0)")
        }
        XCTAssertThrowsError(try WebDatasetSubset.write(shardSpec: "\(dir)/missing.tar", count: 1, seed: 0, outputDirectory: "\(dir)/out")) {
            XCTAssertTrue("\($0)".contains("missing.tar: file not found"), "\($0)")
        }
        try writeShard("\(dir)/again.tar", [("s0-4", [("txt", Array("x".utf8))])])
        XCTAssertThrowsError(try WebDatasetSubset.write(shardSpec: "\(dir)/in-0.tar::\(dir)/again.tar", count: 1, seed: 0,
                                                        outputDirectory: "\(dir)/out")) {
            XCTAssertTrue("\($0)".contains("again.tar:s0-4") && "\($0)".contains("also occurs in"), "\($0)")
        }
        let whole = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/in-1.tar"))
        try whole.prefix(1300).write(to: URL(fileURLWithPath: "\(dir)/cut.tar"))
        XCTAssertThrowsError(try WebDatasetSubset.write(shardSpec: "\(dir)/cut.tar", count: 1, seed: 0, outputDirectory: "\(dir)/out")) {
            XCTAssertTrue("\($0)".contains("cut.tar: malformed tar archive"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/out/train-000.tar"), "nothing is written on bad input")
    }
}
