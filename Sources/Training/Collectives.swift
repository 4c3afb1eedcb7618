import Foundation

/// The collective operations the trainer needs. Only Training calls collectives; the MPI implementation
/// adapts the Distributed module's communicator, and `SingleProcessCollectives` serves runs without MPI.
public protocol TrainerCollectives: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// Overwrites `buffer` on every rank with rank `root`'s values.
    func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws
    /// Rank `root`'s value of `value` on every rank.
    func broadcast<T: Codable>(_ value: T, root: Int) throws -> T
    /// Every rank's `local` (equal lengths) concatenated in rank order.
    func allGather(_ local: [Float]) throws -> [Float]
    /// Sums `full` (size × equal parts) over ranks and returns this rank's part.
    func reduceScatterSum(_ full: [Float]) throws -> [Float]
    /// Sums `values` over ranks in place.
    func allReduceSum(_ values: inout [Double]) throws
    /// 64-bit checksums of every rank's `buffer`, in rank order (replica verification).
    func gatherChecksums(_ checksum: UInt64) throws -> [UInt64]
    /// A gradient reducer for parameters laid out as `layout` in one flat buffer.
    func makeGradientReducer(layout: [(offset: Int, count: Int)], bucketBytes: Int, deterministic: Bool) -> GradientReduction
    func barrier() throws
}

/// Averages parameter gradients over ranks, bucket by bucket, as backward finishes them.
public protocol GradientReduction: AnyObject {
    /// Parameters that have gradients this step (frozen ones are neither waited for nor reduced).
    func setActive(_ parameters: [Int])
    /// Parameter `index`'s gradient in `gradients` (the flat buffer) is final.
    func gradientReady(parameter index: Int, gradients: UnsafeMutablePointer<Float>) throws
    /// Lets communication progress while backward runs.
    func poll()
    /// Waits for every bucket; returns the seconds spent waiting (exposed communication).
    func finish() throws -> Double
}

/// Collectives of a run with one rank: every operation is the identity.
public final class SingleProcessCollectives: TrainerCollectives {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws {}
    public func broadcast<T: Codable>(_ value: T, root: Int) throws -> T { value }
    public func allGather(_ local: [Float]) throws -> [Float] { local }
    public func reduceScatterSum(_ full: [Float]) throws -> [Float] { full }
    public func allReduceSum(_ values: inout [Double]) throws {}
    public func gatherChecksums(_ checksum: UInt64) throws -> [UInt64] { [checksum] }
    public func makeGradientReducer(layout: [(offset: Int, count: Int)], bucketBytes: Int, deterministic: Bool) -> GradientReduction {
        NoReduction()
    }
    public func barrier() throws {}

    final class NoReduction: GradientReduction {
        func setActive(_ parameters: [Int]) {}
        func gradientReady(parameter index: Int, gradients: UnsafeMutablePointer<Float>) throws {}
        func poll() {}
        func finish() throws -> Double { 0 }
    }
}
