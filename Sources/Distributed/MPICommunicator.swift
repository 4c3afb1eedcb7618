import CMPI
import Foundation
import TensorCore

/// The process-wide MPI_COMM_WORLD communicator; works with world size 1 without mpirun.
///
/// MPI calls are serialised (MPI_THREAD_SERIALIZED): non-blocking all-reduces run on a dedicated
/// MPI thread while the caller keeps computing, and blocking collectives run on the caller when
/// that thread is idle (see `MPIWorker`). A collective that runs longer than
/// `collectiveTimeout` seconds prints "rank R: collective X timed out after N s; a peer likely died"
/// and aborts the MPI job instead of hanging when a peer has died.
/// Call `finalize()` once at the end of the program; MPI can be initialised once per process.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    private let worker: MPIWorker

    private static let lifecycleLock = NSLock()
    nonisolated(unsafe) private static var initializedInThisProcess = false

    /// Initialises MPI (MPI_Init_thread, errors returned rather than fatal) and reads rank and size.
    /// - Parameter collectiveTimeout: seconds any single collective may take before the job is aborted.
    public init(collectiveTimeout: Double = 300) throws {
        Self.lifecycleLock.lock()
        defer { Self.lifecycleLock.unlock() }
        guard !Self.initializedInThisProcess else {
            throw DistributedError.invalidState("MPI can be initialised only once per process")
        }
        guard collectiveTimeout > 0 else {
            throw DistributedError.invalidArgument("collective timeout must be positive, got \(collectiveTimeout)")
        }
        worker = MPIWorker(timeoutSeconds: collectiveTimeout)
        (rank, size) = try worker.start()
        Self.initializedInThisProcess = true
    }

    deinit { try? finalize() }

    /// Seconds a single collective may take before this rank reports a dead peer and aborts.
    public var collectiveTimeout: Double {
        get { worker.timeoutSeconds }
        set { worker.timeoutSeconds = newValue }
    }

    /// Waits for queued collectives and calls MPI_Finalize; later calls do nothing.
    public func finalize() throws {
        let ticket: UInt64
        do { ticket = try worker.enqueue(.finalize) } catch { return }
        try worker.wait(ticket)
    }

    /// Largest element count handed to one MPI call (default Int32.max, MPI's count limit);
    /// bigger buffers are split. Lowering it lets tests exercise the split paths with small data.
    public func setChunkElementLimit(_ limit: Int) throws {
        guard limit > 0, limit <= Int(Int32.max) else {
            throw DistributedError.invalidArgument("chunk limit \(limit) is outside 1...\(Int32.max)")
        }
        try performSerialized { executor in executor.chunkElementLimit = limit }
    }

    /// Runs `body` with MPI_COMM_WORLD once every queued collective has finished, serialised with all
    /// other MPI calls of this process; for raw MPI calls. `body` must not call this communicator.
    public func withWorldCommunicator<R>(_ body: @escaping (MPI_Comm) throws -> R) throws -> R {
        try performSerialized { executor in try body(executor.communicator) }
    }

    private func performSerialized<R>(_ body: @escaping (MPIJobExecutor) throws -> R) throws -> R {
        var result: R?
        try worker.perform(.run { executor in result = try body(executor) })
        return result!
    }

    public func barrier() throws {
        try worker.perform(.barrier)
    }

    public func broadcast<T: CollectiveScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws {
        try CollectiveValidation.root(root, size: size)
        try worker.perform(.broadcast(buffer: UnsafeMutableRawPointer(buffer.baseAddress), count: buffer.count,
                                      kind: T.scalarKind, root: root))
    }

    public func allReduce<T: CollectiveScalar>(_ buffer: UnsafeMutableBufferPointer<T>, _ operation: ReduceOperation) throws {
        try CollectiveValidation.operation(operation, kind: T.scalarKind)
        try worker.perform(.allReduce(buffer: UnsafeMutableRawPointer(buffer.baseAddress), count: buffer.count,
                                      kind: T.scalarKind, operation: operation))
    }

    public func startAllReduce<T: CollectiveScalar>(
        _ buffer: UnsafeMutableBufferPointer<T>, _ operation: ReduceOperation
    ) throws -> CollectiveRequest {
        try CollectiveValidation.operation(operation, kind: T.scalarKind)
        return try start(.allReduce(buffer: UnsafeMutableRawPointer(buffer.baseAddress), count: buffer.count,
                                    kind: T.scalarKind, operation: operation))
    }

    /// Queues `job` on the MPI thread and returns its request.
    func start(_ job: MPIJob) throws -> CollectiveRequest {
        MPIRequest(worker: worker, ticket: try worker.enqueue(job))
    }

    public func allGatherV<T: CollectiveScalar>(
        _ local: UnsafeBufferPointer<T>, into gathered: UnsafeMutableBufferPointer<T>, counts: [Int]
    ) throws {
        try CollectiveValidation.counts(counts, size: size, rank: rank, localCount: local.count,
                                        totalCount: gathered.count, what: "allGatherV")
        try worker.perform(.allGatherV(local: UnsafeRawPointer(local.baseAddress),
                                       gathered: UnsafeMutableRawPointer(gathered.baseAddress),
                                       counts: counts, kind: T.scalarKind))
    }

    public func reduceScatter<T: CollectiveScalar>(
        _ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>, counts: [Int],
        _ operation: ReduceOperation
    ) throws {
        try CollectiveValidation.operation(operation, kind: T.scalarKind)
        try CollectiveValidation.counts(counts, size: size, rank: rank, localCount: output.count,
                                        totalCount: input.count, what: "reduceScatter")
        try worker.perform(.reduceScatter(input: UnsafeRawPointer(input.baseAddress),
                                          output: UnsafeMutableRawPointer(output.baseAddress),
                                          counts: counts, kind: T.scalarKind, operation: operation))
    }
}

/// Gradient collectives run on the MPI thread, overlapping backward like `startAllReduce`.
extension MPICommunicator {
    public func startAverage(_ buffer: UnsafeMutableBufferPointer<Float>, wire: WirePrecision) throws -> CollectiveRequest {
        switch wire {
        case .fp32: return try startAllReduce(buffer, .average)
        case .bf16: return try start(.averageBFloat16(buffer: buffer.baseAddress, count: buffer.count))
        }
    }

    public func startAverageScatter(_ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>,
                                    counts: [Int], wire: WirePrecision) throws -> CollectiveRequest {
        try CollectiveValidation.counts(counts, size: size, rank: rank, localCount: output.count,
                                        totalCount: input.count, what: "averageScatter")
        switch wire {
        case .fp32:
            return try start(.reduceScatter(input: UnsafeRawPointer(input.baseAddress), output: UnsafeMutableRawPointer(output.baseAddress),
                                            counts: counts, kind: .float32, operation: .average))
        case .bf16:
            return try start(.averageScatterBFloat16(input: input.baseAddress, output: output.baseAddress, counts: counts))
        }
    }
}

/// A non-blocking all-reduce queued on the MPI thread.
final class MPIRequest: CollectiveRequest {
    private let worker: MPIWorker
    private let ticket: UInt64

    init(worker: MPIWorker, ticket: UInt64) {
        self.worker = worker
        self.ticket = ticket
    }

    func wait() throws { try worker.wait(ticket) }
    func test() throws -> Bool { try worker.isComplete(ticket) }
}
