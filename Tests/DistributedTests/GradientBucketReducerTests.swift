import XCTest
@testable import Distributed

final class GradientBucketReducerTests: XCTestCase {
    // Six parameters of 25 floats each, 50 floats (200 bytes) per bucket: buckets [5,4], [3,2], [1,0].
    let counts = [25, 25, 25, 25, 25, 25]
    var layout: [(offset: Int, count: Int)] { GradientBucketPlanTests.packed(counts) }

    func makeGradients(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
        for i in buffer.indices { buffer[i] = Float(i + 1) }
        return buffer
    }

    func testBucketLaunchesInPlaceAsSoonAsItsLastParameterIsReady() throws {
        let communicator = RecordingCommunicator()
        let reducer = try GradientBucketReducer(communicator: communicator, layout: layout, bucketBytes: 200)
        let gradients = makeGradients(150)
        defer { gradients.deallocate() }
        let base = gradients.baseAddress!

        try reducer.gradientReady(parameter: 5, gradients: base)
        XCTAssertTrue(communicator.launches.isEmpty, "bucket [5,4] still waits for 4")
        try reducer.gradientReady(parameter: 4, gradients: base)
        XCTAssertEqual(communicator.launches.count, 1)
        XCTAssertEqual(communicator.launches[0].start, base + 100, "in place, no staging copy")
        XCTAssertEqual(communicator.launches[0].count, 50)
        XCTAssertEqual(communicator.launches[0].operation, .average)

        for p in [3, 2, 1, 0] { try reducer.gradientReady(parameter: p, gradients: base) }
        XCTAssertEqual(communicator.launches.map { $0.start - base }, [100, 50, 0])
        let waited = try reducer.finish()
        XCTAssertGreaterThanOrEqual(waited, 0)
        XCTAssertEqual(Array(gradients), (0..<150).map { Float($0 + 1) * 10 }, "every element reduced exactly once")
        XCTAssertEqual(reducer.launchOrder, [0, 1, 2])
    }

    func testDeterministicModeLaunchesInBucketOrderWhateverTheReadyOrder() throws {
        for deterministic in [true, false] {
            let communicator = RecordingCommunicator()
            let reducer = try GradientBucketReducer(communicator: communicator, layout: layout, bucketBytes: 200,
                                                    deterministic: deterministic)
            let gradients = makeGradients(150)
            defer { gradients.deallocate() }
            // Registration order: bucket 2 ([1,0]) completes first, bucket 0 last.
            for p in 0..<6 { try reducer.gradientReady(parameter: p, gradients: gradients.baseAddress!) }
            XCTAssertEqual(reducer.launchOrder, deterministic ? [0, 1, 2] : [2, 1, 0], "deterministic=\(deterministic)")
            try reducer.finish()
            XCTAssertEqual(Array(gradients), (0..<150).map { Float($0 + 1) * 10 })
        }
    }

    func testWithoutOverlapEveryBucketLaunchesInFinishInBucketOrder() throws {
        for deterministic in [true, false] {
            let communicator = RecordingCommunicator()
            let reducer = try GradientBucketReducer(communicator: communicator, layout: layout, bucketBytes: 200,
                                                    deterministic: deterministic, overlap: false)
            let gradients = makeGradients(150)
            defer { gradients.deallocate() }
            for p in [5, 4, 3, 2, 1, 0] { try reducer.gradientReady(parameter: p, gradients: gradients.baseAddress!) }
            try reducer.poll()
            XCTAssertTrue(communicator.launches.isEmpty, "nothing launches during backward (deterministic=\(deterministic))")
            try reducer.finish()
            XCTAssertEqual(reducer.launchOrder, [0, 1, 2])
            XCTAssertEqual(Array(gradients), (0..<150).map { Float($0 + 1) * 10 }, "every element reduced exactly once")
        }
    }

    func testDeterministicModeHoldsBackABucketUntilEarlierOnesLaunch() throws {
        let communicator = RecordingCommunicator()
        let reducer = try GradientBucketReducer(communicator: communicator, layout: layout, bucketBytes: 200)
        let gradients = makeGradients(150)
        defer { gradients.deallocate() }
        for p in [3, 2] { try reducer.gradientReady(parameter: p, gradients: gradients.baseAddress!) }
        XCTAssertTrue(communicator.launches.isEmpty, "bucket 1 is complete but bucket 0 is not")
        try reducer.gradientReady(parameter: 5, gradients: gradients.baseAddress!)
        try reducer.gradientReady(parameter: 4, gradients: gradients.baseAddress!)
        XCTAssertEqual(reducer.launchOrder, [0, 1])
    }

    /// Scattered parameters go through staging; deterministic mode writes results back in bucket order only.
    func testStagedBucketsCompleteInOrderWhenDeterministic() throws {
        // Each parameter followed by a 5-float gap, so no bucket is contiguous.
        let scattered: [(offset: Int, count: Int)] = (0..<6).map { (30 * $0, 25) }
        for deterministic in [true, false] {
            let communicator = RecordingCommunicator()
            let reducer = try GradientBucketReducer(communicator: communicator, layout: scattered, bucketBytes: 200,
                                                    deterministic: deterministic)
            XCTAssertTrue(reducer.plan.buckets.allSatisfy { $0.contiguousRange == nil })
            let gradients = makeGradients(180)
            defer { gradients.deallocate() }
            let original = Array(gradients)
            for p in (0..<6).reversed() { try reducer.gradientReady(parameter: p, gradients: gradients.baseAddress!) }
            XCTAssertEqual(communicator.launches.count, 3)
            XCTAssertFalse(communicator.launches.contains { $0.start >= gradients.baseAddress! && $0.start < gradients.baseAddress! + 180 },
                           "scattered buckets are packed into staging buffers")

            communicator.launches[1].request.complete()
            try reducer.poll()
            // Bucket 1 holds parameters 3 and 2, at offsets 90 and 60.
            XCTAssertEqual(gradients[60], deterministic ? original[60] : original[60] * 10)
            communicator.launches[0].request.complete()
            try reducer.poll()
            XCTAssertEqual(gradients[60], original[60] * 10)
            XCTAssertEqual(gradients[150], original[150] * 10)

            try reducer.finish()
            for p in 0..<6 {
                for i in scattered[p].offset..<(scattered[p].offset + 25) { XCTAssertEqual(gradients[i], original[i] * 10) }
                for i in (scattered[p].offset + 25)..<(scattered[p].offset + 30) { XCTAssertEqual(gradients[i], original[i], "gap") }
            }
        }
    }

    func testFrozenParametersAreNeitherAwaitedNorReduced() throws {
        let communicator = RecordingCommunicator()
        let reducer = try GradientBucketReducer(communicator: communicator, layout: layout, bucketBytes: 200)
        // Freezing 4 leaves bucket 0 = {5} contiguous; freezing 2 and 3 empties bucket 1.
        try reducer.setActive(parameters: [0, 1, 5])
        let gradients = makeGradients(150)
        defer { gradients.deallocate() }
        for p in [5, 4, 3, 2, 1, 0] { try reducer.gradientReady(parameter: p, gradients: gradients.baseAddress!) }
        try reducer.finish()
        XCTAssertEqual(communicator.launches.map { $0.start - gradients.baseAddress! }, [125, 0])
        XCTAssertEqual(communicator.launches.map(\.count), [25, 50])
        XCTAssertEqual(Array(gradients[0..<50]), (0..<50).map { Float($0 + 1) * 10 })
        XCTAssertEqual(Array(gradients[50..<125]), (50..<125).map { Float($0 + 1) }, "frozen values untouched")
        XCTAssertEqual(Array(gradients[125..<150]), (125..<150).map { Float($0 + 1) * 10 })

        // finish needs only the active parameters; a frozen one in the middle of a bucket forces staging.
        try reducer.setActive(parameters: [0, 2, 3, 4, 5])
        let next = makeGradients(150)
        defer { next.deallocate() }
        for p in [5, 4, 3, 2, 0] { try reducer.gradientReady(parameter: p, gradients: next.baseAddress!) }
        try reducer.finish()
        XCTAssertEqual(Array(next[25..<50]), (25..<50).map { Float($0 + 1) }, "parameter 1 frozen")
        XCTAssertEqual(Array(next[0..<25]), (0..<25).map { Float($0 + 1) * 10 })
        XCTAssertEqual(Array(next[50..<150]), (50..<150).map { Float($0 + 1) * 10 })
        XCTAssertEqual(reducer.activeParameters, [0, 2, 3, 4, 5])
    }

    func testMisuseIsReported() throws {
        let communicator = RecordingCommunicator()
        let reducer = try GradientBucketReducer(communicator: communicator, layout: layout, bucketBytes: 200)
        let gradients = makeGradients(150)
        defer { gradients.deallocate() }
        let base = gradients.baseAddress!
        XCTAssertThrowsError(try reducer.gradientReady(parameter: 6, gradients: base))
        try reducer.gradientReady(parameter: 5, gradients: base)
        XCTAssertThrowsError(try reducer.gradientReady(parameter: 5, gradients: base), "reported twice")
        XCTAssertThrowsError(try reducer.gradientReady(parameter: 4, gradients: base + 1), "buffer moved")
        try reducer.gradientReady(parameter: 4, gradients: base)
        XCTAssertThrowsError(try reducer.setActive(parameters: [0]), "bucket in flight")
        XCTAssertThrowsError(try reducer.finish()) { error in
            XCTAssertTrue("\(error)".contains("never reported ready"), "\(error)")
        }
        for p in [3, 2, 1, 0] { try reducer.gradientReady(parameter: p, gradients: base) }
        try reducer.finish()
        XCTAssertNoThrow(try reducer.setActive(parameters: [0]))
        XCTAssertThrowsError(try reducer.setActive(parameters: [9]))
    }

    func testStepsRepeatAndFinishWaitsForEveryBucket() throws {
        let communicator = RecordingCommunicator()
        let reducer = try GradientBucketReducer(communicator: communicator, layout: layout, bucketBytes: 200)
        let gradients = makeGradients(150)
        defer { gradients.deallocate() }
        for step in 1...3 {
            for p in (0..<6).reversed() { try reducer.gradientReady(parameter: p, gradients: gradients.baseAddress!) }
            try reducer.finish()
            XCTAssertEqual(communicator.launches.count, 3 * step)
            XCTAssertTrue(communicator.launches.allSatisfy { $0.request.isComplete })
        }
        XCTAssertEqual(gradients[0], 1000)
    }

    func testSingleRankSkipsCommunication() throws {
        let reducer = try GradientBucketReducer(communicator: LocalCommunicator(), layout: layout, bucketBytes: 200)
        let gradients = makeGradients(150)
        defer { gradients.deallocate() }
        for p in (0..<6).reversed() { try reducer.gradientReady(parameter: p, gradients: gradients.baseAddress!) }
        XCTAssertEqual(try reducer.finish(), 0, accuracy: 0.01)
        XCTAssertEqual(Array(gradients), (0..<150).map { Float($0 + 1) })
        XCTAssertEqual(reducer.launchOrder, [0, 1, 2])
    }
}
