import NN
import TensorCore
import XCTest

/// The grouping of a batch's captions by length: every row once, and the least cost of any split of the sorted lengths.
final class CaptionLengthGroupsTests: XCTestCase {
    /// The cost the grouping minimises, of groups given as the sorted distinct lengths that end each group.
    private func cost(_ lengths: [Int], groupEnds: [Int]) -> Int {
        var total = 0, previous = 0
        for end in groupEnds {
            total += lengths.filter { $0 > previous && $0 <= end }.count * end + CaptionLengthGroups.overheadPositions
            previous = end
        }
        return total
    }

    func testGroupsCoverEveryRowOnceAndCostTheLeastOfAnySplit() {
        var generator = SplitMix64(seed: 11)
        for trial in 0..<40 {
            let count = 1 + Int(generator.next() % 200), context = 2 + Int(generator.next() % 12)
            // Skewed towards short captions, as real ones are.
            let lengths = (0..<count).map { _ in 1 + Int(generator.next() % UInt64(context)) * Int(generator.next() % 3) / 2 }
            let grouping = CaptionLengthGroups(lengths: lengths)
            XCTAssertEqual(grouping.groups.flatMap(\.rows).sorted(), Array(0..<count), "trial \(trial): every row once")
            for group in grouping.groups {
                XCTAssertEqual(group.length, group.rows.map { lengths[$0] }.max(), "trial \(trial): a group runs as far as its longest")
            }
            XCTAssertEqual(grouping.computedPositions, grouping.groups.reduce(0) { $0 + $1.rows.count * $1.length })
            // Every split of the distinct lengths into runs (2^(d-1) of them).
            let distinct = Array(Set(lengths)).sorted()
            var best = Int.max
            for mask in 0..<(1 << (distinct.count - 1)) {
                let ends = distinct.indices.filter { $0 == distinct.count - 1 || mask & (1 << $0) != 0 }.map { distinct[$0] }
                best = min(best, cost(lengths, groupEnds: ends))
            }
            XCTAssertEqual(cost(lengths, groupEnds: grouping.groups.map(\.length)), best, "trial \(trial): lengths \(lengths)")
        }
    }

    func testEqualLengthsAreOneGroupInBatchOrder() {
        let grouping = CaptionLengthGroups(lengths: [5, 5, 5])
        XCTAssertEqual(grouping.groups, [CaptionLengthGroups.Group(rows: [0, 1, 2], length: 5)])
        XCTAssertEqual(CaptionLengthGroups(lengths: []).groups, [])
    }
}
