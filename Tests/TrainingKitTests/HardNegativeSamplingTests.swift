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
}
