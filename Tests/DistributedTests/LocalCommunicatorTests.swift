import XCTest
@testable import Distributed

final class LocalCommunicatorTests: XCTestCase {
    let communicator = LocalCommunicator()

    func testCollectivesOnOneRankAreIdentitiesOrCopies() throws {
        var values: [Float] = [1, -2, 3.5]
        for operation in ReduceOperation.allCases {
            try communicator.allReduce(&values, operation)
            XCTAssertEqual(values, [1, -2, 3.5])
        }
        XCTAssertEqual(try communicator.allReduce(2.5, .average), 2.5)
        let request = try values.withUnsafeMutableBufferPointer { try communicator.startAllReduce($0, .sum) }
        XCTAssertTrue(try request.test())
        try request.wait()

        let (gathered, counts) = try communicator.allGatherV([Int32(4), 5])
        XCTAssertEqual(gathered, [4, 5])
        XCTAssertEqual(counts, [2])

        var output: [Float] = [0, 0]
        try [Float(7), 8].withUnsafeBufferPointer { input in
            try output.withUnsafeMutableBufferPointer { try communicator.reduceScatter(input, into: $0, counts: [2], .sum) }
        }
        XCTAssertEqual(output, [7, 8])
    }

    func testBadArgumentsAreRejectedAsOnMPI() {
        var values: [Float] = [1, 2]
        XCTAssertThrowsError(try communicator.broadcast(&values, root: 1))
        var integers: [Int32] = [1]
        XCTAssertThrowsError(try communicator.allReduce(&integers, .average)) { error in
            XCTAssertEqual(error as? DistributedError, .invalidArgument("average needs floating-point elements, got int32"))
        }
        var gathered = [Float](repeating: 0, count: 3)
        XCTAssertThrowsError(try values.withUnsafeBufferPointer { local in
            try gathered.withUnsafeMutableBufferPointer { try communicator.allGatherV(local, into: $0, counts: [3]) }
        })
        XCTAssertThrowsError(try values.withUnsafeBufferPointer { local in
            try gathered.withUnsafeMutableBufferPointer { try communicator.allGatherV(local, into: $0, counts: [2, 1]) }
        })
    }

    func testBroadcastValueRoundTripsCodableDecisions() throws {
        struct Decision: Codable, Equatable { var stop: Bool; var resumeFrom: String? }
        let decision = Decision(stop: false, resumeFrom: "runs/x/step-100")
        XCTAssertEqual(try communicator.broadcastValue(decision), decision)
        XCTAssertThrowsError(try communicator.broadcastValue(Optional<Decision>.none), "root must supply the value")
    }

    func testFeatureGatherOnOneRankIsIdentityBothWays() throws {
        let features: [Float] = (0..<12).map(Float.init)
        let gathered = try allGatherFeatures(features, featureDimension: 4, communicator: communicator)
        XCTAssertEqual(gathered.values, features)
        XCTAssertEqual(gathered.rowsPerRank, [3])
        let gradient = try allGatherFeaturesBackward(features.map { $0 * 2 }, rowsPerRank: [3], featureDimension: 4,
                                                     communicator: communicator)
        XCTAssertEqual(gradient, features.map { $0 * 2 })
        XCTAssertThrowsError(try allGatherFeatures(features, featureDimension: 5, communicator: communicator))
        XCTAssertThrowsError(try allGatherFeaturesBackward(features, rowsPerRank: [3, 3], featureDimension: 4, communicator: communicator))
    }
}

extension LocalCommunicatorTests {
    func testFeatureGatherWithKnownRowCountsChecksThem() throws {
        let features: [Float] = (0..<8).map(Float.init)
        XCTAssertEqual(try allGatherFeatures(features, featureDimension: 4, rowsPerRank: [2], communicator: communicator).values, features)
        XCTAssertThrowsError(try allGatherFeatures(features, featureDimension: 4, rowsPerRank: [3], communicator: communicator))
    }

    func testEqualCountAllGather() throws {
        var gathered = [Float](repeating: 0, count: 2)
        try [Float(1), 2].withUnsafeBufferPointer { local in
            try gathered.withUnsafeMutableBufferPointer { try communicator.allGather(local, into: $0) }
        }
        XCTAssertEqual(gathered, [1, 2])
    }
}
