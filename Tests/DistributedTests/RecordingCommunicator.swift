@testable import Distributed

/// A stand-in for a multi-rank communicator that records non-blocking all-reduces and completes
/// them only when a test says so, so tests control timing exactly.
///
/// Completing a request "reduces" it by multiplying the buffer by `completionFactor`, which makes
/// it visible whether, where and when a bucket's values were written back.
final class RecordingCommunicator: Communicator {
    struct Launch {
        let start: UnsafeMutablePointer<Float>
        let count: Int
        let operation: ReduceOperation
        let request: ManualRequest
    }

    final class ManualRequest: CollectiveRequest {
        let buffer: UnsafeMutableBufferPointer<Float>
        let factor: Float
        private(set) var isComplete = false
        var waits = 0

        init(buffer: UnsafeMutableBufferPointer<Float>, factor: Float) {
            self.buffer = buffer
            self.factor = factor
        }

        func complete() {
            guard !isComplete else { return }
            isComplete = true
            for i in buffer.indices { buffer[i] *= factor }
        }

        func wait() throws {
            waits += 1
            complete()
        }

        func test() throws -> Bool { isComplete }
    }

    let rank: Int
    let size: Int
    var completionFactor: Float = 10
    private(set) var launches: [Launch] = []

    init(rank: Int = 0, size: Int = 2) {
        self.rank = rank
        self.size = size
    }

    func barrier() throws {}
    func broadcast<T: CollectiveScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws {}
    func allReduce<T: CollectiveScalar>(_ buffer: UnsafeMutableBufferPointer<T>, _ operation: ReduceOperation) throws {}

    func startAllReduce<T: CollectiveScalar>(
        _ buffer: UnsafeMutableBufferPointer<T>, _ operation: ReduceOperation
    ) throws -> CollectiveRequest {
        precondition(T.self == Float.self, "the reducer only reduces Float gradients")
        let floats = UnsafeMutableRawBufferPointer(buffer).bindMemory(to: Float.self)
        let request = ManualRequest(buffer: floats, factor: completionFactor)
        launches.append(Launch(start: floats.baseAddress!, count: floats.count, operation: operation, request: request))
        return request
    }

    /// Every rank contributes a copy of this rank's data, then `gatherOverride` may change rank slots.
    var gatherOverride: ((_ rank: Int, _ slot: UnsafeMutableRawBufferPointer) -> Void)?

    func allGatherV<T: CollectiveScalar>(
        _ local: UnsafeBufferPointer<T>, into gathered: UnsafeMutableBufferPointer<T>, counts: [Int]
    ) throws {
        var offset = 0
        for r in 0..<size {
            let slot = UnsafeMutableBufferPointer(rebasing: gathered[offset..<(offset + counts[r])])
            _ = slot.initialize(from: local)
            gatherOverride?(r, UnsafeMutableRawBufferPointer(slot))
            offset += counts[r]
        }
    }

    func reduceScatter<T: CollectiveScalar>(
        _ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>, counts: [Int],
        _ operation: ReduceOperation
    ) throws {}

    /// A recorded reduce-scatter: completing it writes this rank's segment of the input, times `completionFactor`,
    /// to the output.
    struct ScatterLaunch {
        let input: UnsafeBufferPointer<Float>
        let output: UnsafeMutableBufferPointer<Float>
        let counts: [Int]
        let wire: WirePrecision
        let request: ManualScatterRequest
    }

    final class ManualScatterRequest: CollectiveRequest {
        let segment: UnsafeBufferPointer<Float>
        let output: UnsafeMutableBufferPointer<Float>
        let factor: Float
        private(set) var isComplete = false

        init(segment: UnsafeBufferPointer<Float>, output: UnsafeMutableBufferPointer<Float>, factor: Float) {
            self.segment = segment
            self.output = output
            self.factor = factor
        }

        func complete() {
            guard !isComplete else { return }
            isComplete = true
            for i in output.indices { output[i] = segment[i] * factor }
        }

        func wait() throws { complete() }
        func test() throws -> Bool { isComplete }
    }

    private(set) var scatterLaunches: [ScatterLaunch] = []

    func startAverageScatter(_ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>,
                             counts: [Int], wire: WirePrecision) throws -> CollectiveRequest {
        let offset = counts[..<rank].reduce(0, +)
        let request = ManualScatterRequest(segment: UnsafeBufferPointer(rebasing: input[offset..<(offset + counts[rank])]),
                                           output: output, factor: completionFactor)
        scatterLaunches.append(ScatterLaunch(input: input, output: output, counts: counts, wire: wire, request: request))
        return request
    }
}
