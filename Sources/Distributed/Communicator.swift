/// How `allReduce` and `reduceScatter` combine the contributions of the ranks.
public enum ReduceOperation: String, Sendable, CaseIterable {
    /// Element-wise sum over ranks.
    case sum
    /// Element-wise sum divided by the number of ranks (floating-point element types only).
    case average
    /// Element-wise maximum over ranks.
    case max
    /// Element-wise minimum over ranks.
    case min
}

/// A collective operation started without blocking; completes in the background.
public protocol CollectiveRequest: AnyObject {
    /// Blocks until the operation has completed (or the communicator's timeout policy fires).
    func wait() throws
    /// Returns whether the operation has completed, without blocking.
    func test() throws -> Bool
}

/// A group of ranks that run the same program and exchange data with collective operations.
///
/// Every rank must call the same collectives in the same order with matching sizes, as in MPI.
/// All data movement is in place or into caller-provided buffers; nothing is allocated per call
/// on the paths used every training step.
public protocol Communicator: AnyObject {
    /// This process's index in the group, in `0..<size`.
    var rank: Int { get }
    /// The number of ranks in the group.
    var size: Int { get }

    /// Blocks until every rank has reached the barrier.
    func barrier() throws

    /// Replaces `buffer` on every rank with the contents of `buffer` on `root`.
    func broadcast<T: CollectiveScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws

    /// Combines `buffer` element-wise over all ranks and leaves the result in `buffer` on every rank.
    func allReduce<T: CollectiveScalar>(_ buffer: UnsafeMutableBufferPointer<T>, _ operation: ReduceOperation) throws

    /// Starts an in-place all-reduce and returns at once; `buffer` must stay valid and untouched
    /// until the returned request has completed.
    func startAllReduce<T: CollectiveScalar>(
        _ buffer: UnsafeMutableBufferPointer<T>, _ operation: ReduceOperation
    ) throws -> CollectiveRequest

    /// Concatenates every rank's `local` in rank order into `gathered`; `counts[r]` is rank r's
    /// element count (identical on all ranks) and `gathered.count` must equal their sum.
    func allGatherV<T: CollectiveScalar>(
        _ local: UnsafeBufferPointer<T>, into gathered: UnsafeMutableBufferPointer<T>, counts: [Int]
    ) throws

    /// Combines `input` element-wise over ranks and gives rank r the r-th segment of the result:
    /// `input` holds `counts.reduce(0, +)` elements, `output` holds `counts[rank]`.
    func reduceScatter<T: CollectiveScalar>(
        _ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>, counts: [Int],
        _ operation: ReduceOperation
    ) throws

    /// Starts averaging Float gradients over ranks in place, carried on the wire as `wire`; `buffer` must stay valid
    /// and untouched until the request completes. With `.bf16` every rank ends with the same bits:
    /// bf16(Σ_r bf16(x_r / size)), the sum taken in Float32 in rank order.
    func startAverage(_ buffer: UnsafeMutableBufferPointer<Float>, wire: WirePrecision) throws -> CollectiveRequest

    /// Starts averaging `input` over ranks and hands rank r the r-th segment of the result (`counts[r]` elements,
    /// segments consecutive) in `output`; both buffers must stay valid until the request completes. With `.bf16` the
    /// segment is Σ_r bf16(x_r / size) summed in Float32 in rank order (not rounded again: it never travels).
    func startAverageScatter(_ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>,
                             counts: [Int], wire: WirePrecision) throws -> CollectiveRequest
}
