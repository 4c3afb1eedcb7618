import CMPI
import Distributed

extension MPICommunicator {
    /// Seconds of one in-place float32 `MPI_Allreduce` sum of `buffer`, timed around the bare MPI call on the MPI
    /// thread: what MPI itself achieves, none of our queueing or copies.
    func timeRawAllReduce(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> Double {
        let base = buffer.baseAddress!, count = Int32(buffer.count)
        return try withWorldCommunicator { world -> Double in
            let start = MPI_Wtime()
            try checkMPI(MPI_Allreduce(CMPI_inPlace(), base, count, CMPI_float(), CMPI_sum(), world), "MPI_Allreduce")
            return MPI_Wtime() - start
        }
    }
}
