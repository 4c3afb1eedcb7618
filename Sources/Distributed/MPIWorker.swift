import CMPI
import Foundation

/// Serialises all MPI calls, runs non-blocking collectives on a dedicated MPI thread, and enforces
/// the collective timeout.
///
/// Non-blocking collectives run as blocking MPI calls on the MPI thread rather than as MPI_I*
/// requests progressed with MPI_Test: on Open MPI 4.1 the non-blocking collectives (libnbc) reached
/// only 0.51-0.56 of the tuned blocking MPI_Allreduce's bandwidth (2 ranks, 16-256 MB), while a
/// dedicated thread gives both overlap with compute and full bandwidth. A blocking collective
/// issued while the MPI thread is idle runs directly on the calling thread (legal under
/// MPI_THREAD_SERIALIZED) to avoid two thread hand-offs per call; the idle MPI thread then acts as
/// the watchdog for it.
final class MPIWorker {
    private let condition = NSCondition()
    private var queue: [(ticket: UInt64, job: MPIJob)] = []
    private var queueHead = 0
    private var nextTicket: UInt64 = 1
    /// Queued jobs finish in ticket order, so one counter records every completion.
    private var completedTicket: UInt64 = 0
    private var failures: [UInt64: Error] = [:]
    /// The collective in progress (on either thread) and when it started, for the timeout.
    private var runningJobName: StaticString = ""
    private var runningSince: UInt64?
    /// Set while a caller runs a blocking collective itself; the MPI thread must not start a job.
    private var callerIsExecuting = false
    private var finalized = false
    private var startupResult: Result<MPIJobExecutor, Error>?
    private var executor: MPIJobExecutor?
    private var directExecutionAllowed = false
    private var storedTimeout: Double
    private var rankForMessages = -1

    /// Seconds a single collective may run before the process prints why and aborts the job.
    var timeoutSeconds: Double {
        get { condition.lock(); defer { condition.unlock() }; return storedTimeout }
        set { condition.lock(); storedTimeout = newValue; condition.unlock() }
    }

    init(timeoutSeconds: Double) {
        storedTimeout = timeoutSeconds
        queue.reserveCapacity(256)
    }

    /// How often sleeping threads wake to compare the running collective's age with the timeout.
    private var watchdogInterval: Double { min(1.0, max(0.01, storedTimeout / 10)) }

    /// Starts the MPI thread, initialises MPI on it and returns rank and size.
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

    /// Queues a job for the MPI thread and returns its ticket.
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
            if !condition.wait(until: Date(timeIntervalSinceNow: watchdogInterval)) { abortIfRunningTooLong() }
        }
        if let failure = failures.removeValue(forKey: ticket) { throw failure }
    }

    /// Runs `job` with the lock released, marked as running for the watchdog; called and returns with the lock held.
    private func execute(_ job: MPIJob, _ executor: MPIJobExecutor) -> Error? {
        runningJobName = job.name
        runningSince = DispatchTime.now().uptimeNanoseconds
        condition.unlock()
        var failure: Error?
        do { try executor.execute(job) } catch { failure = error }
        condition.lock()
        runningSince = nil
        return failure
    }

    /// Runs a job to completion: on the calling thread when the MPI thread is idle, else queued
    /// behind the jobs already waiting so the collective order is preserved.
    func perform(_ job: MPIJob) throws {
        condition.lock()
        guard directExecutionAllowed, let executor, !finalized, queueHead == queue.count, runningSince == nil else {
            condition.unlock()
            try wait(try enqueue(job))
            return
        }
        callerIsExecuting = true
        let failure = execute(job, executor)
        callerIsExecuting = false
        // Waking the idle MPI thread for nothing would cost a context switch on every call.
        if queueHead != queue.count { condition.broadcast() }
        condition.unlock()
        if let failure { throw failure }
    }

    /// Called with the lock held.
    private func abortIfRunningTooLong() {
        guard let since = runningSince else { return }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - since) / 1e9
        guard elapsed > storedTimeout else { return }
        let message = "rank \(rankForMessages): collective \(runningJobName) timed out after \(Int(elapsed.rounded())) s; "
            + "a peer likely died (collective timeout \(storedTimeout) s)\n"
        fputs(message, stderr)
        fflush(stderr)
        // Another thread is stuck inside the collective; MPI_Abort from here is the best-effort way
        // to take the whole job down, and _exit covers an MPI_Abort that returns.
        _ = MPI_Abort(CMPI_commWorld(), 1)
        _exit(1)
    }

    private func threadMain() {
        let executor: MPIJobExecutor
        var provided: Int32 = 0
        do {
            executor = try initializeMPI(provided: &provided)
        } catch {
            condition.lock()
            startupResult = .failure(error)
            condition.broadcast()
            condition.unlock()
            return
        }
        condition.lock()
        self.executor = executor
        directExecutionAllowed = provided >= CMPI_threadSerialized()
        startupResult = .success(executor)
        condition.broadcast()
        condition.unlock()

        while true {
            condition.lock()
            while queueHead == queue.count || callerIsExecuting {
                // Idle: watch over a blocking collective that a caller runs itself.
                if !condition.wait(until: Date(timeIntervalSinceNow: watchdogInterval)) { abortIfRunningTooLong() }
            }
            let (ticket, job) = queue[queueHead]
            queueHead += 1
            if queueHead == queue.count {
                queue.removeAll(keepingCapacity: true)
                queueHead = 0
            }
            let failure = execute(job, executor)
            completedTicket = ticket
            if let failure { failures[ticket] = failure }
            condition.broadcast()
            condition.unlock()
            if case .finalize = job { return }
        }
    }

    private func initializeMPI(provided: inout Int32) throws -> MPIJobExecutor {
        try checkMPI(MPI_Init_thread(nil, nil, CMPI_threadSerialized(), &provided), "MPI_Init_thread")
        // With less than SERIALIZED every call stays on this thread (the one that initialised MPI).
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
