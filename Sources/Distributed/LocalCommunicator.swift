/// A single-rank, in-process communicator: every collective is the identity (or a copy).
///
/// Lets single-process runs and unit tests use the same code paths as multi-rank MPI runs,
/// including argument validation.
public final class LocalCommunicator: Communicator {
    public let rank = 0
    public let size = 1

    public init() {}

    public func barrier() throws {}

    public func broadcast<T: CollectiveScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws {
        try CollectiveValidation.root(root, size: size)
    }

    public func allReduce<T: CollectiveScalar>(_ buffer: UnsafeMutableBufferPointer<T>, _ operation: ReduceOperation) throws {
        // Sum, average, max and min over one rank all leave the values unchanged.
        try CollectiveValidation.operation(operation, kind: T.scalarKind)
    }

    public func startAllReduce<T: CollectiveScalar>(
        _ buffer: UnsafeMutableBufferPointer<T>, _ operation: ReduceOperation
    ) throws -> CollectiveRequest {
        try allReduce(buffer, operation)
        return CompletedRequest()
    }

    public func allGatherV<T: CollectiveScalar>(
        _ local: UnsafeBufferPointer<T>, into gathered: UnsafeMutableBufferPointer<T>, counts: [Int]
    ) throws {
        try CollectiveValidation.counts(counts, size: size, rank: rank, localCount: local.count,
                                        totalCount: gathered.count, what: "allGatherV")
        copy(local, into: gathered)
    }

    public func reduceScatter<T: CollectiveScalar>(
        _ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>, counts: [Int],
        _ operation: ReduceOperation
    ) throws {
        try CollectiveValidation.operation(operation, kind: T.scalarKind)
        try CollectiveValidation.counts(counts, size: size, rank: rank, localCount: output.count,
                                        totalCount: input.count, what: "reduceScatter")
        copy(input, into: output)
    }

    private func copy<T>(_ source: UnsafeBufferPointer<T>, into destination: UnsafeMutableBufferPointer<T>) {
        guard let from = source.baseAddress, let to = destination.baseAddress, from != UnsafePointer(to) else { return }
        UnsafeMutableRawPointer(to).copyMemory(from: from, byteCount: source.count * MemoryLayout<T>.stride)
    }
}

/// A request that was already complete when it was returned.
final class CompletedRequest: CollectiveRequest {
    func wait() throws {}
    func test() throws -> Bool { true }
}
