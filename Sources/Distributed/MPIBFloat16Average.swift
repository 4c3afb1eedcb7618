import CMPI

/// Growable scratch of the bfloat16 collectives, kept by the executor so steady-state steps do not allocate. A class,
/// so that the two arrays are separate accesses when both are open at once.
final class BFloat16WireBuffers {
    var send: [UInt16] = []
    var receive: [UInt16] = []

    func reserve(send sendCount: Int, receive receiveCount: Int) {
        if send.count < sendCount { send = [UInt16](repeating: 0, count: sendCount) }
        if receive.count < receiveCount { receive = [UInt16](repeating: 0, count: receiveCount) }
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
        let counts = try FlatShardLayout(totalCount: count, ranks: size).counts
        let offset = counts[..<rank].reduce(0, +)
        try exchangeShares(UnsafePointer(buffer), count: count, counts: counts, sumsInto: buffer + offset)
        try wire.send.withUnsafeMutableBufferPointer { send in
            let mine = send.baseAddress! + offset
            for k in 0..<counts[rank] { mine[k] = BFloat16.round(buffer[offset + k]) }
            let (counts32, displacements32) = try int32Layout(counts)
            try checkMPI(MPI_Allgatherv(UnsafeRawPointer(CMPI_inPlace()), 0, CMPI_uint16(), send.baseAddress, counts32, displacements32,
                                        CMPI_uint16(), communicator), "MPI_Allgatherv")
            BFloat16.widen(send.baseAddress!, into: buffer, count: count)
        }
    }

    func averageScatterBFloat16(_ input: UnsafePointer<Float>?, _ output: UnsafeMutablePointer<Float>?, counts: [Int]) throws {
        let total = counts.reduce(0, +)
        guard total > 0, let input else { return }
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        defer { scratch.deallocate() }
        try exchangeShares(input, count: total, counts: counts, sumsInto: output ?? scratch)
    }

    /// Rounds input / size to bfloat16, sends segment r to rank r, and sums the shares of this rank's segment that
    /// every rank sent, in Float32 and rank order, into `sums`.
    private func exchangeShares(_ input: UnsafePointer<Float>, count: Int, counts: [Int],
                                sumsInto sums: UnsafeMutablePointer<Float>) throws {
        let mine = counts[rank]
        wire.reserve(send: count, receive: mine * size)
        let (sendCounts, sendDisplacements) = try int32Layout(counts)
        let (receiveCounts, receiveDisplacements) = try int32Layout([Int](repeating: mine, count: size))
        try wire.send.withUnsafeMutableBufferPointer { send in
            try wire.receive.withUnsafeMutableBufferPointer { receive in
                BFloat16.round(input, dividedBy: Float(size), into: send.baseAddress!, count: count)
                try checkMPI(MPI_Alltoallv(send.baseAddress, sendCounts, sendDisplacements, CMPI_uint16(),
                                           receive.baseAddress, receiveCounts, receiveDisplacements, CMPI_uint16(),
                                           communicator), "MPI_Alltoallv")
                if mine > 0 {
                    BFloat16.sumInFloat32(receive.baseAddress!, contributions: size, stride: mine, count: mine, into: sums)
                }
            }
        }
    }

    /// MPI's 32-bit counts and displacements of consecutive segments; gradient buckets are far below the limit.
    private func int32Layout(_ counts: [Int]) throws -> (counts: [Int32], displacements: [Int32]) {
        guard counts.reduce(0, +) <= Int(Int32.max) else {
            throw DistributedError.invalidArgument("a bfloat16 average of \(counts.reduce(0, +)) elements exceeds MPI's 32-bit counts")
        }
        var displacement = 0
        let displacements = counts.map { c -> Int32 in defer { displacement += c }; return Int32(displacement) }
        return (counts.map { Int32($0) }, displacements)
    }
}
