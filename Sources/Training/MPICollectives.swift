import Distributed
import Foundation

/// The trainer's collectives over the Distributed module's communicator (MPI when run under `mpirun`).
public final class CommunicatorCollectives: TrainerCollectives {
    public let communicator: Communicator

    public init(_ communicator: Communicator) { self.communicator = communicator }

    public var rank: Int { communicator.rank }
    public var size: Int { communicator.size }

    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws {
        try communicator.broadcast(buffer, root: root)
    }

    public func broadcast<T: Codable>(_ value: T, root: Int) throws -> T {
        try communicator.broadcastValue(rank == root ? Optional(value) : nil, root: root)
    }

    public func allGather(_ local: [Float]) throws -> [Float] {
        var gathered = [Float](repeating: 0, count: local.count * size)
        try local.withUnsafeBufferPointer { l in
            try gathered.withUnsafeMutableBufferPointer { try communicator.allGather(l, into: $0) }
        }
        return gathered
    }

    public func reduceScatterSum(_ full: [Float]) throws -> [Float] {
        let part = full.count / size
        var mine = [Float](repeating: 0, count: part)
        try full.withUnsafeBufferPointer { f in
            try mine.withUnsafeMutableBufferPointer {
                try communicator.reduceScatter(f, into: $0, counts: [Int](repeating: part, count: size), .sum)
            }
        }
        return mine
    }

    public func allReduceSum(_ values: inout [Double]) throws { try communicator.allReduce(&values, .sum) }

    public func gatherChecksums(_ checksum: UInt64) throws -> [UInt64] {
        let local = [checksum]
        return try communicator.allGatherV(local).values
    }

    public func makeGradientReducer(layout: [(offset: Int, count: Int)], bucketBytes: Int, deterministic: Bool) -> GradientReduction {
        BucketReduction(try! GradientBucketReducer(communicator: communicator, layout: layout, bucketBytes: bucketBytes,
                                                   deterministic: deterministic))
    }

    public func barrier() throws { try communicator.barrier() }

    /// Adapts `GradientBucketReducer` (which averages over ranks) to the trainer's protocol.
    final class BucketReduction: GradientReduction {
        let reducer: GradientBucketReducer
        var active: [Int]?
        init(_ reducer: GradientBucketReducer) { self.reducer = reducer }

        func setActive(_ parameters: [Int]) {
            guard parameters != active else { return }  // the set changes only between stages
            try! reducer.setActive(parameters: parameters)
            active = parameters
        }
        func gradientReady(parameter index: Int, gradients: UnsafeMutablePointer<Float>) throws {
            try reducer.gradientReady(parameter: index, gradients: gradients)
        }
        func poll() { try? reducer.poll() }
        func finish() throws -> Double { try reducer.finish() }
    }
}
