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

    /// Seconds of the MPI calls of the trainer's bfloat16 averaging of `buffer` (`--grad-comm-dtype bf16`), timed the
    /// same way: `MPI_Alltoallv` of its W balanced segments into `received` (W × this rank's segment), then the in-place
    /// `MPI_Allgatherv` of the segments. The rounding, summing and widening around them are left out, as
    /// `timeRawAllReduce` leaves out nothing but MPI's own reduction.
    func timeRawBFloat16Average(_ buffer: UnsafeMutableBufferPointer<UInt16>, received: UnsafeMutableBufferPointer<UInt16>) throws -> Double {
        let ranks = size, counts = (0..<ranks).map { Int32(FlatShardLayout.range(of: $0, totalCount: buffer.count, ranks: ranks).count) }
        var displacements: [Int32] = [], offset: Int32 = 0
        for c in counts { displacements.append(offset); offset += c }
        let mine = counts[rank]
        let receiveCounts = [Int32](repeating: mine, count: ranks), receiveDisplacements = (0..<ranks).map { Int32($0) * mine }
        precondition(received.count >= Int(mine) * ranks, "timeRawBFloat16Average: receive buffer too small")
        return try withWorldCommunicator { world -> Double in
            let start = MPI_Wtime()
            try checkMPI(MPI_Alltoallv(buffer.baseAddress, counts, displacements, CMPI_uint16(), received.baseAddress, receiveCounts,
                                       receiveDisplacements, CMPI_uint16(), world), "MPI_Alltoallv")
            try checkMPI(MPI_Allgatherv(UnsafeRawPointer(CMPI_inPlace()), 0, CMPI_uint16(), buffer.baseAddress, counts, displacements,
                                        CMPI_uint16(), world), "MPI_Allgatherv")
            return MPI_Wtime() - start
        }
    }
}
