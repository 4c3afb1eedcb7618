import CMPI
import TensorCore

/// Growable scratch of the bfloat16 collectives, kept by the executor so steady-state steps do not allocate. A class,
/// so that its arrays are separate accesses when several are open at once.
final class BFloat16WireBuffers {
    var send: [UInt16] = []
    var receive: [UInt16] = []
    /// MPI's 32-bit counts and displacements: of the segments sent, and of those received (one per rank).
    var sendCounts: [Int32] = [], sendDisplacements: [Int32] = []
    var receiveCounts: [Int32] = [], receiveDisplacements: [Int32] = []
    /// Segment sizes of an all-reduce, balanced over the ranks.
    var balancedCounts: [Int] = []

    func reserve(send sendCount: Int, receive receiveCount: Int) {
        if send.count < sendCount { send = [UInt16](repeating: 0, count: sendCount) }
        if receive.count < receiveCount { receive = [UInt16](repeating: 0, count: receiveCount) }
    }

    /// Fills the 32-bit layouts of segments `counts` (sent) and of `size` segments of `counts[rank]` (received).
    func setLayouts(_ counts: [Int], rank: Int) throws {
        guard counts.reduce(0, +) <= Int(Int32.max) else {
            throw DistributedError.invalidArgument("a bfloat16 average of \(counts.reduce(0, +)) elements exceeds MPI's 32-bit counts")
        }
        sendCounts.removeAll(keepingCapacity: true); sendDisplacements.removeAll(keepingCapacity: true)
        receiveCounts.removeAll(keepingCapacity: true); receiveDisplacements.removeAll(keepingCapacity: true)
        var displacement = 0
        for (r, c) in counts.enumerated() {
            sendCounts.append(Int32(c)); sendDisplacements.append(Int32(displacement))
            receiveCounts.append(Int32(counts[rank])); receiveDisplacements.append(Int32(r * counts[rank]))
            displacement += c
        }
    }
}

/// bfloat16 averaging as an all-to-all plus an all-gather rather than `MPI_Allreduce` with a custom operation: a
/// custom operation would round each partial sum back to bfloat16 at every hop of MPI's reduction tree (and in an
/// order MPI chooses), whereas here the rank that owns a segment receives every rank's bfloat16 share of it and sums
/// them in Float32, in rank order, once. Bytes on the wire are those of a reduce-scatter plus an all-gather of
/// bfloat16: half of the Float32 all-reduce.
extension MPIJobExecutor {
    func averageBFloat16(_ buffer: UnsafeMutablePointer<Float>?, count: Int) throws {
        guard count > 0, let buffer else { return }
        wire.balancedCounts.removeAll(keepingCapacity: true)
        for r in 0..<size { wire.balancedCounts.append(FlatShardLayout.range(of: r, totalCount: count, ranks: size).count) }
        let offset = FlatShardLayout.range(of: rank, totalCount: count, ranks: size).lowerBound, mine = wire.balancedCounts[rank]
        try exchangeShares(UnsafePointer(buffer), count: count, counts: wire.balancedCounts, sumsInto: buffer + offset)
        try wire.send.withUnsafeMutableBufferPointer { send in
            let rounded = send.baseAddress! + offset
            BFloat16.round(buffer + offset, into: rounded, count: mine)
            try checkMPI(MPI_Allgatherv(UnsafeRawPointer(CMPI_inPlace()), 0, CMPI_uint16(), send.baseAddress, wire.sendCounts,
                                        wire.sendDisplacements, CMPI_uint16(), communicator), "MPI_Allgatherv")
            BFloat16.widen(send.baseAddress!, into: buffer, count: count)
        }
    }

    func averageScatterBFloat16(_ input: UnsafePointer<Float>?, _ output: UnsafeMutablePointer<Float>?, counts: [Int]) throws {
        let total = counts.reduce(0, +)
        guard total > 0, let input else { return }
        try exchangeShares(input, count: total, counts: counts, sumsInto: output)
    }

    /// Rounds input / size to bfloat16, sends segment r to rank r, and sums the shares of this rank's segment that
    /// every rank sent, in Float32 and rank order, into `sums`.
    private func exchangeShares(_ input: UnsafePointer<Float>, count: Int, counts: [Int],
                                sumsInto sums: UnsafeMutablePointer<Float>?) throws {
        let mine = counts[rank]
        wire.reserve(send: count, receive: mine * size)
        try wire.setLayouts(counts, rank: rank)
        try wire.send.withUnsafeMutableBufferPointer { send in
            try wire.receive.withUnsafeMutableBufferPointer { receive in
                BFloat16.round(input, dividedBy: Float(size), into: send.baseAddress!, count: count)
                try checkMPI(MPI_Alltoallv(send.baseAddress, wire.sendCounts, wire.sendDisplacements, CMPI_uint16(),
                                           receive.baseAddress, wire.receiveCounts, wire.receiveDisplacements, CMPI_uint16(),
                                           communicator), "MPI_Alltoallv")
                if mine > 0, let sums {
                    BFloat16.sumInFloat32(receive.baseAddress!, contributions: size, stride: mine, count: mine, into: sums)
                }
            }
        }
    }
}
