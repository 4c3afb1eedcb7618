import CMPI
import Foundation

/// The one thread that makes MPI calls; runs queued collectives in FIFO order and enforces the
/// collective timeout for callers that wait on them.
///
/// Collectives run as blocking MPI calls on this thread rather than as MPI_I* requests progressed
/// with MPI_Test: Open MPI's non-blocking collectives (libnbc) reach only about half the bandwidth
/// of its tuned blocking ones, while a dedicated thread gives both overlap and full bandwidth.
final class MPIWorker {
    private let condition = NSCondition()
    private var queue: [(ticket: UInt64, job: MPIJob)] = []
    private var queueHead = 0
    private var nextTicket: UInt64 = 1
    /// Jobs finish in ticket order, so one counter records every completion.
    private var completedTicket: UInt64 = 0
    private var failures: [UInt64: Error] = [:]
    private var runningJobName: StaticString = ""
    private var runningSince: UInt64?
    private var finalized = false
    private var startupResult: Result<MPIJobExecutor, Error>?

    /// Seconds a single collective may run before the process prints why and aborts the job.
    var timeoutSeconds: Double {
        get { condition.lock(); defer { condition.unlock() }; return storedTimeout }
        set { condition.lock(); storedTimeout = newValue; condition.unlock() }
    }
    private var storedTimeout: Double
    private var rankForMessages = -1

    init(timeoutSeconds: Double) {
        storedTimeout = timeoutSeconds
        queue.reserveCapacity(256)
    }

    /// Starts the MPI thread, initialises MPI on it and returns the executor's rank and size.
    func start() throws -> (rank: Int, size: Int) {
        let thread = Thread { [self] in threadMain() }
        thread.name = "swiftclip-mpi"
        thread.stackSize = 8 << 20
        thread.start()
        condition.lock()
        defer { condition.unlock() }
        while startupResult == nil { condition.wait() }
        let executor = try startupResult!.get()
        rankForMessages = executor.rank
        return (executor.rank, executor.size)
    }

    /// Queues a job and returns its ticket.
    func enqueue(_ job: MPIJob) throws -> UInt64 {
        condition.lock()
        defer { condition.unlock() }
        guard !finalized else { throw DistributedError.invalidState("MPI was already finalized") }
        let ticket = nextTicket
        nextTicket += 1
        if case .finalize = job { finalized = true }
        queue.append((ticket, job))
        condition.broadcast()
        return ticket
    }

    /// Whether the job with `ticket` has finished; throws its error if it failed.
    func isComplete(_ ticket: UInt64) throws -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard completedTicket >= ticket else { return false }
        if let failure = failures.removeValue(forKey: ticket) { throw failure }
        return true
    }

    /// Blocks until the job with `ticket` has finished; aborts the MPI job if the running
    /// collective exceeds the timeout, since a peer that never arrives would hang this rank forever.
    func wait(_ ticket: UInt64) throws {
        condition.lock()
        defer { condition.unlock() }
        while completedTicket < ticket {
            let slice = min(1.0, max(0.01, storedTimeout / 10))
            if !condition.wait(until: Date(timeIntervalSinceNow: slice)), let since = runningSince {
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - since) / 1e9
                if elapsed > storedTimeout { abortAfterTimeout(collective: runningJobName, elapsed: elapsed) }
            }
        }
        if let failure = failures.removeValue(forKey: ticket) { throw failure }
    }

    /// Enqueues and waits: the blocking path used by every synchronous collective.
    func perform(_ job: MPIJob) throws {
        try wait(try enqueue(job))
    }

    private func abortAfterTimeout(collective: StaticString, elapsed: Double) -> Never {
        let message = "rank \(rankForMessages): collective \(collective) timed out after \(Int(elapsed.rounded())) s; "
            + "a peer likely died (timeout \(storedTimeout) s)\n"
        fputs(message, stderr)
        fflush(stderr)
        // The MPI thread is stuck inside the collective; MPI_Abort from here is the best-effort way
        // to take the whole job down, and _exit covers an MPI_Abort that returns.
        _ = MPI_Abort(CMPI_commWorld(), 1)
        _exit(1)
    }

    private func threadMain() {
        let executor: MPIJobExecutor
        do {
            executor = try initializeMPI()
            condition.lock()
            startupResult = .success(executor)
            condition.broadcast()
            condition.unlock()
        } catch {
            condition.lock()
            startupResult = .failure(error)
            condition.broadcast()
            condition.unlock()
            return
        }
        while true {
            condition.lock()
            while queueHead == queue.count { condition.wait() }
            let (ticket, job) = queue[queueHead]
            queueHead += 1
            if queueHead == queue.count {
                queue.removeAll(keepingCapacity: true)
                queueHead = 0
            }
            runningJobName = job.name
            runningSince = DispatchTime.now().uptimeNanoseconds
            condition.unlock()

            var failure: Error?
            do { try executor.execute(job) } catch { failure = error }

            condition.lock()
            runningSince = nil
            completedTicket = ticket
            if let failure { failures[ticket] = failure }
            condition.broadcast()
            condition.unlock()
            if case .finalize = job { return }
        }
    }

    private func initializeMPI() throws -> MPIJobExecutor {
        var provided: Int32 = 0
        try checkMPI(MPI_Init_thread(nil, nil, CMPI_threadSerialized(), &provided), "MPI_Init_thread")
        // Only this thread calls MPI, so FUNNELED suffices; SERIALIZED is asked for so that the
        // emergency MPI_Abort from a waiting thread is within the rules when the library allows it.
        guard provided >= CMPI_threadFunneled() else {
            throw DistributedError.invalidState("MPI provides thread level \(provided), below MPI_THREAD_FUNNELED")
        }
        guard let world = CMPI_commWorld() else { throw DistributedError.invalidState("MPI_COMM_WORLD is null") }
        try checkMPI(MPI_Comm_set_errhandler(world, CMPI_errorsReturn()), "MPI_Comm_set_errhandler")
        var rank: Int32 = 0
        var size: Int32 = 0
        try checkMPI(MPI_Comm_rank(world, &rank), "MPI_Comm_rank")
        try checkMPI(MPI_Comm_size(world, &size), "MPI_Comm_size")
        return MPIJobExecutor(communicator: world, rank: Int(rank), size: Int(size))
    }
}
