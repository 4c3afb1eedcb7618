import XCTest
@testable import Optim

/// ZeRO-1: instances that each update one range of the flat buffer, cutting through segments, together give the bits
/// of one instance updating everything.
final class ShardedAdamWTests: XCTestCase {
    func testShardsTogetherGiveTheBitsOfTheWholeUpdate() {
        let segments = [AdamW.Segment(name: "w", offset: 0, count: 19, decay: true),
                        AdamW.Segment(name: "b", offset: 19, count: 13, decay: false),
                        AdamW.Segment(name: "frozen", offset: 32, count: 9, decay: true),
                        AdamW.Segment(name: "v", offset: 41, count: 6, decay: true)]
        let total = 47
        let h = AdamW.Hyperparameters(weightDecay: 0.1)
        let whole = AdamW(segments: segments, hyperparameters: h)
        // Boundaries inside "w", inside "b" and at the start of "v"; one empty shard.
        let shards = [0..<7, 7..<25, 25..<25, 25..<41, 41..<47]
        let parts = shards.map { AdamW(segments: segments, hyperparameters: h, shard: $0) }
        XCTAssertEqual(parts.map(\.firstMoment.count), shards.map(\.count))
        var expected = (0..<total).map { Float(sin(Double($0) * 1.3)) }
        var sharded = expected
        for step in 1...3 {
            let g = (0..<total).map { Float(cos(Double($0 * step) * 0.7)) }
            let lr: Float = 1e-3 * Float(step)
            let active: (Int) -> Bool = { $0 != 2 }
            whole.step(parameters: &expected, gradients: g, lr: lr, active: active)
            for (part, range) in zip(parts, shards) {
                let shardGradients = Array(g[range])
                sharded.withUnsafeMutableBufferPointer { p in
                    shardGradients.withUnsafeBufferPointer { part.step(parameters: p.baseAddress!, gradients: $0.baseAddress ?? UnsafePointer(p.baseAddress!), lr: lr, active: active) }
                }
            }
            XCTAssertEqual(sharded.map(\.bitPattern), expected.map(\.bitPattern), "parameters after step \(step)")
            XCTAssertEqual(parts.flatMap(\.firstMoment).map(\.bitPattern), whole.firstMoment.map(\.bitPattern))
            XCTAssertEqual(parts.flatMap(\.secondMoment).map(\.bitPattern), whole.secondMoment.map(\.bitPattern))
        }
        for part in parts { XCTAssertEqual(part.steps, [3, 3, 0, 3], "every rank counts every segment's steps") }
    }
}
