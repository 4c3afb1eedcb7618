import XCTest
@testable import Distributed

/// ZeRO-1: buckets are reduce-scattered into this rank's shard instead of all-reduced.
final class ShardedBucketReducerTests: XCTestCase {
    // Six parameters of 25 floats, buckets of 50 floats: [100, 150), [50, 100), [0, 50). Two ranks own [0, 75) and
    // [75, 150), so the shard boundary cuts parameter 3 in half.
    let layout = GradientBucketPlanTests.packed([25, 25, 25, 25, 25, 25])

    func makeGradients(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
        for i in buffer.indices { buffer[i] = Float(i + 1) }
        return buffer
    }

    func testEachBucketIsReduceScatteredIntoTheShardItOverlaps() throws {
        let communicator = RecordingCommunicator(rank: 1, size: 2)
        let shards = try FlatShardLayout(totalCount: 150, ranks: 2)
        let reducer = try GradientBucketReducer(communicator: communicator, layout: layout, bucketBytes: 200,
                                                shards: shards, wire: .bf16)
        let gradients = makeGradients(150)
        defer { gradients.deallocate() }
        for p in (0..<6).reversed() { try reducer.gradientReady(parameter: p, gradients: gradients.baseAddress!) }
        XCTAssertTrue(communicator.launches.isEmpty, "nothing is all-reduced")
        let launches = communicator.scatterLaunches
        XCTAssertEqual(launches.map { $0.input.baseAddress! - UnsafePointer(gradients.baseAddress!) }, [100, 50, 0])
        XCTAssertEqual(launches.map(\.counts), [[0, 50], [25, 25], [50, 0]])
        XCTAssertEqual(launches.map { $0.output.baseAddress! - reducer.shardGradients.baseAddress! }, [25, 0, 0])
        XCTAssertEqual(launches.map(\.output.count), [50, 25, 0])
        XCTAssertTrue(launches.allSatisfy { $0.wire == .bf16 })
        try reducer.finish()
        XCTAssertEqual(Array(reducer.shardGradients), (75..<150).map { Float($0 + 1) * 10 }, "the shard holds its averages")
        XCTAssertEqual(Array(gradients), (0..<150).map { Float($0 + 1) }, "the flat buffer keeps this rank's gradients")
    }

    func testScatteredBucketsAreAllReducedAndCopiedIntoTheShard() throws {
        // Each parameter followed by a 5-float gap, so no bucket is one range; rank 1 owns [90, 180): parameters 3, 4, 5.
        let scattered: [(offset: Int, count: Int)] = (0..<6).map { (30 * $0, 25) }
        let communicator = RecordingCommunicator(rank: 1, size: 2)
        let reducer = try GradientBucketReducer(communicator: communicator, layout: scattered, bucketBytes: 200,
                                                shards: try FlatShardLayout(totalCount: 180, ranks: 2))
        let gradients = makeGradients(180)
        defer { gradients.deallocate() }
        for p in (0..<6).reversed() { try reducer.gradientReady(parameter: p, gradients: gradients.baseAddress!) }
        try reducer.finish()
        XCTAssertTrue(communicator.scatterLaunches.isEmpty)
        XCTAssertEqual(communicator.launches.count, 3)
        for p in 3..<6 {
            let inShard = (scattered[p].offset - 90)..<(scattered[p].offset - 90 + 25)
            XCTAssertEqual(Array(reducer.shardGradients[inShard]), (scattered[p].offset..<(scattered[p].offset + 25)).map { Float($0 + 1) * 10 })
            XCTAssertEqual(Array(reducer.shardGradients[inShard.upperBound..<(inShard.upperBound + 5)]), [0, 0, 0, 0, 0], "gap")
        }
    }

    func testShardLayoutMustMatchTheWorldSize() {
        XCTAssertThrowsError(try GradientBucketReducer(communicator: RecordingCommunicator(rank: 0, size: 2), layout: layout,
                                                       shards: try FlatShardLayout(totalCount: 150, ranks: 3)))
    }
}
