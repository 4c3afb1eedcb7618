import CMPI
import Foundation

/// How this process was started (alone, or as one rank of an MPI job) and how such a job ends.
public enum MPILaunch {
    /// Whether an MPI launcher (mpirun, srun with PMI/PMIx) started this process.
    public static var isMPIJob: Bool {
        let environment = ProcessInfo.processInfo.environment
        return ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"].contains { environment[$0] != nil }
    }

    /// MPI's world communicator when launched by MPI, otherwise a single-rank communicator. A collective that takes
    /// longer than `SWIFTCLIP_COLLECTIVE_TIMEOUT` seconds (default 300) aborts the job, naming the stalled rank.
    public static func communicator() throws -> Communicator {
        guard isMPIJob else { return LocalCommunicator() }
        let timeout = ProcessInfo.processInfo.environment["SWIFTCLIP_COLLECTIVE_TIMEOUT"].flatMap(Double.init) ?? 300
        return try MPICommunicator(collectiveTimeout: timeout)
    }

    /// Ends MPI cleanly after a successful run.
    public static func finish(_ communicator: Communicator) throws {
        try (communicator as? MPICommunicator)?.finalize()
    }

    /// Ends the whole job after an error on this rank, so the other ranks do not wait for it: `message` goes to
    /// standard error first.
    public static func abortJob(_ communicator: Communicator, message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        if communicator.size > 1, let mpi = communicator as? MPICommunicator {
            _ = try? mpi.withWorldCommunicator { MPI_Abort($0, 1) }
        }
        exit(1)
    }
}
