import XCTest
@testable import Distributed

final class FlatShardLayoutTests: XCTestCase {
    func testRangesTileTheBufferInRankOrderWithinOneElement() throws {
        for (total, ranks) in [(10, 3), (150, 2), (7, 4), (2, 4), (0, 2), (1_000_003, 8)] {
            let layout = try FlatShardLayout(totalCount: total, ranks: ranks)
            XCTAssertEqual(layout.ranges.count, ranks)
            XCTAssertEqual(layout.ranges.first?.lowerBound, 0)
            XCTAssertEqual(layout.ranges.last?.upperBound, total)
            for (a, b) in zip(layout.ranges, layout.ranges.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound) }
            XCTAssertLessThanOrEqual(layout.counts.max()! - layout.counts.min()!, 1, "\(total) over \(ranks)")
        }
        XCTAssertEqual(try FlatShardLayout(totalCount: 10, ranks: 3).ranges, [0..<3, 3..<6, 6..<10])
        XCTAssertThrowsError(try FlatShardLayout(totalCount: 10, ranks: 0))
    }

    func testPiecesOfARangeAreItsConsecutiveSegmentsByRank() throws {
        let layout = try FlatShardLayout(totalCount: 10, ranks: 3)  // [0, 3) [3, 6) [6, 10)
        XCTAssertEqual(layout.counts(within: 2..<8), [1, 3, 2])
        XCTAssertEqual((0..<3).map { layout.piece(of: 2..<8, ownedBy: $0) }, [2..<3, 3..<6, 6..<8])
        XCTAssertEqual(layout.counts(within: 7..<9), [0, 0, 2])
        XCTAssertEqual(layout.piece(of: 7..<9, ownedBy: 0), 3..<3, "an empty piece sits at the nearest end of the owned range")
    }

    func testSingleRankTransfersAreCopies() throws {
        let communicator = LocalCommunicator()
        let layout = try FlatShardLayout(totalCount: 5, ranks: 1)
        var shard: [Float] = [1, 2, 3, 4, 5]
        var full = [Float](repeating: 0, count: 5)
        try shard.withUnsafeMutableBufferPointer { s in
            try full.withUnsafeMutableBufferPointer { try layout.gatherToRoot(s, into: $0, communicator: communicator) }
        }
        XCTAssertEqual(full, [1, 2, 3, 4, 5])
        full = [9, 8, 7, 6, 5]
        try shard.withUnsafeMutableBufferPointer { s in
            try full.withUnsafeMutableBufferPointer { try layout.scatterFromRoot($0, into: s, communicator: communicator) }
        }
        XCTAssertEqual(shard, [9, 8, 7, 6, 5])
    }
}
