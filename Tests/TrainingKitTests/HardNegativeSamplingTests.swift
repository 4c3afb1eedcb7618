import DataPipeline
import Foundation
import Text
import TrainingKit
import XCTest

/// `--hard-negatives-sampling`: `first` takes the file's first K texts; `random` draws K per epoch, deterministically from
/// the seed, the epoch and the key, and over epochs reaches every text.
final class HardNegativeSamplingTests: XCTestCase {
    let texts = ["one", "two", "three", "four", "five"]

    func testFirstTakesThePrefix() {
        for epoch in 0..<3 {
            XCTAssertEqual(HardNegativeSampling.first.choose(from: texts, count: 2, seed: 7, epoch: epoch, key: "k"), ["one", "two"])
        }
        XCTAssertEqual(HardNegativeSampling.first.choose(from: texts, count: 9, seed: 7, epoch: 0, key: "k"), texts)
    }

    func testRandomDrawsKDistinctTextsPerEpochDeterministically() {
        let random = HardNegativeSampling.random
        var draws: [[String]] = [], reached = Set<String>()
        for epoch in 0..<40 {
            let draw = random.choose(from: texts, count: 2, seed: 7, epoch: epoch, key: "shard.tar:001")
            XCTAssertEqual(draw, random.choose(from: texts, count: 2, seed: 7, epoch: epoch, key: "shard.tar:001"))
            XCTAssertEqual(draw.count, 2)
            XCTAssertEqual(Set(draw).count, 2)
            XCTAssertEqual(draw, texts.filter(draw.contains), "drawn texts keep the file's order")
            draws.append(draw)
            reached.formUnion(draw)
        }
        XCTAssertEqual(reached, Set(texts), "over epochs every text is drawn")
        XCTAssertGreaterThan(Set(draws).count, 5, "the draw depends on the epoch")
        let otherKey = (0..<40).map { random.choose(from: texts, count: 2, seed: 7, epoch: $0, key: "shard.tar:002") }
        let otherSeed = (0..<40).map { random.choose(from: texts, count: 2, seed: 8, epoch: $0, key: "shard.tar:001") }
        XCTAssertNotEqual(otherKey, draws)
        XCTAssertNotEqual(otherSeed, draws)
        XCTAssertEqual(random.choose(from: texts, count: 1, seed: 7, epoch: 3, key: "k").count, 1)
    }

    func testRandomWithAtMostKTextsUsesThemAll() {
        XCTAssertEqual(HardNegativeSampling.random.choose(from: ["a", "b"], count: 2, seed: 1, epoch: 4, key: "k"), ["a", "b"])
        XCTAssertEqual(HardNegativeSampling.random.choose(from: ["a"], count: 3, seed: 1, epoch: 4, key: "k"), ["a"])
        XCTAssertEqual(HardNegativeSampling.random.choose(from: [], count: 3, seed: 1, epoch: 4, key: "k"), [])
    }

    /// Through the training data source: each batch's slots hold the draw of its own epoch (also after a resume's seek).
    func testDataSourceDrawsForTheBatchesEpoch() throws {
        let samples = 16, batch = 8, keys = (0..<samples).map { "synthetic-train-\($0)" }
        let negatives = keys.map { key in (key: key, texts: (0..<4).map { "\(key) negative \($0)" }) }
        let path = NSTemporaryDirectory() + "sampled-negatives-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try HardNegativeFile.write(negatives, to: path)
        let tokenizer = ListTokenizer(texts: negatives.flatMap(\.texts))
        func makeSource() throws -> HardNegativeDataSource {
            let loader = try LoaderDataSource(source: SyntheticShapes(seed: 0, imageSize: 16, trainCount: samples).source(.train), tokenizer: tokenizer,
                                              options: LoaderOptions(batchSize: batch, seed: 3, transform: ImageTransform(mode: .eval, size: 16),
                                                                     contextLength: 3, workers: 0),
                                              imageSize: 16)
            return try HardNegativeDataSource(base: loader, captions: try HardNegativeFile(contentsOf: path), contextLength: 3, slots: 1,
                                              sampling: .random, seed: 5)
        }
        let source = try makeSource()
        var batches: [TaskBatch] = [], drawsByKey: [String: Set<String>] = [:]
        for step in 0..<12 {
            let next = try source.next()
            let epoch = step * batch / samples
            for (row, key) in next.keys.enumerated() {
                let expected = HardNegativeSampling.random.choose(from: negatives[keys.firstIndex(of: key)!].texts, count: 1, seed: 5, epoch: epoch, key: key)
                XCTAssertEqual(Array(next.rows("hard_negative_text")[(row * 3)..<(row * 3 + 3)]), tokenizer.encode(expected[0], contextLength: 3), "\(key) epoch \(epoch)")
                drawsByKey[key, default: []].insert(expected[0])
            }
            batches.append(next)
        }
        XCTAssertEqual(drawsByKey.count, samples)
        XCTAssertGreaterThan(drawsByKey.values.map(\.count).min()!, 1, "over 6 epochs each sample gets more than one of its negatives")
        let resumed = try makeSource()
        try resumed.seek(samplesSeen: 5 * batch)
        let after = try resumed.next()
        XCTAssertEqual(after.keys, batches[5].keys)
        XCTAssertEqual(after.rows("hard_negative_text"), batches[5].rows("hard_negative_text"))
    }
}

/// Token ids that name a text of a list (1 + its position; 0 for any other text), so a slot's text can be read back.
private struct ListTokenizer: TextTokenizer {
    let texts: [String]
    var vocabularySize: Int { texts.count + 1 }

    func encode(_ text: String, contextLength: Int) -> [Int32] {
        [Int32(texts.firstIndex(of: text).map { $0 + 1 } ?? 0)] + [Int32](repeating: 0, count: contextLength - 1)
    }
}
