import XCTest
@testable import Distributed

final class GradientBucketPlanTests: XCTestCase {
    /// Parameters laid out one after another in registration order, as the trainer does.
    static func packed(_ counts: [Int]) -> [(offset: Int, count: Int)] {
        GradientBucketPlan.packedLayout(parameterCounts: counts).layout
    }

    func testPackedLayoutPutsParametersBackToBack() {
        let (layout, total) = GradientBucketPlan.packedLayout(parameterCounts: [3, 0, 5])
        XCTAssertEqual(layout.map(\.offset), [0, 3, 3])
        XCTAssertEqual(layout.map(\.count), [3, 0, 5])
        XCTAssertEqual(total, 8)
    }

    func testBucketsFollowReverseRegistrationOrderAndCloseAtTheSizeLimit() throws {
        // A bucket closes once it holds at least 90 floats (360 bytes); [2, 1] hits the limit exactly.
        let plan = try GradientBucketPlan(layout: Self.packed([50, 60, 30, 80, 10, 5]), bucketBytes: 360)
        XCTAssertEqual(plan.buckets.map(\.parameters), [[5, 4, 3], [2, 1], [0]])
        XCTAssertEqual(plan.buckets.map(\.elementCount), [95, 90, 50])
        XCTAssertEqual(plan.bucketOfParameter, [2, 1, 1, 0, 0, 0])
    }

    func testPackedLayoutGivesContiguousBucketsTilingTheBufferBackwards() throws {
        let counts = (0..<40).map { ($0 * 37) % 101 + 1 }
        let plan = try GradientBucketPlan(layout: Self.packed(counts), bucketBytes: 1000)
        let ranges = plan.buckets.map(\.contiguousRange)
        XCTAssertFalse(ranges.contains(nil))
        // Bucket 0 ends at the end of the buffer, each next bucket ends where the previous begins.
        XCTAssertEqual(ranges.last!!.lowerBound, 0)
        XCTAssertEqual(ranges.first!!.upperBound, counts.reduce(0, +))
        for (later, earlier) in zip(ranges.dropFirst(), ranges) {
            XCTAssertEqual(later!.upperBound, earlier!.lowerBound)
        }
        for bucket in plan.buckets.dropLast() {
            XCTAssertGreaterThanOrEqual(bucket.elementCount * 4, 1000)
        }
    }

    func testGapsOrForeignParametersMakeABucketNonContiguous() throws {
        // Parameter 1 sits between 0 and 2 in memory but in another bucket.
        let layout: [(offset: Int, count: Int)] = [(0, 10), (20, 10), (10, 10), (40, 10)]
        let plan = try GradientBucketPlan(layout: layout, bucketBytes: 80)
        XCTAssertEqual(plan.buckets.map(\.parameters), [[3, 2], [1, 0]])
        XCTAssertNil(plan.buckets[0].contiguousRange, "gap between 20 and 40")
        XCTAssertNil(plan.buckets[1].contiguousRange, "parameter 2 lies between 0 and 1")
        let adjacentOutOfOrder = try GradientBucketPlan(layout: [(10, 10), (0, 10)], bucketBytes: 1 << 20)
        XCTAssertEqual(adjacentOutOfOrder.buckets[0].contiguousRange, 0..<20)
    }

    func testSingleHugeParameterGetsItsOwnBucket() throws {
        let plan = try GradientBucketPlan(layout: Self.packed([10, 1_000_000, 10]), bucketBytes: 1024)
        XCTAssertEqual(plan.buckets.map(\.parameters), [[2, 1], [0]])
    }

    func testInvalidLayoutsAreRejected() {
        XCTAssertThrowsError(try GradientBucketPlan(layout: [(0, 10), (5, 10)], bucketBytes: 100))
        XCTAssertThrowsError(try GradientBucketPlan(layout: [(-1, 10)], bucketBytes: 100))
        XCTAssertThrowsError(try GradientBucketPlan(layout: [(0, 10)], bucketBytes: 0))
        XCTAssertNoThrow(try GradientBucketPlan(layout: [(0, 10), (10, 0), (10, 5)], bucketBytes: 100))
        XCTAssertNoThrow(try GradientBucketPlan(layout: [], bucketBytes: 100))
    }
}
