import TensorCore

/// The gradient collectives for communicators without a faster implementation of their own (the single-rank one,
/// test doubles): Float32 goes through the plain collectives, bfloat16 through `GatheredBFloat16Average`.
extension Communicator {
    public func startAverage(_ buffer: UnsafeMutableBufferPointer<Float>, wire: WirePrecision) throws -> CollectiveRequest {
        switch wire {
        case .fp32:
            return try startAllReduce(buffer, .average)
        case .bf16:
            try GatheredBFloat16Average.average(buffer, communicator: self)
            return CompletedRequest()
        }
    }

    public func startAverageScatter(_ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>,
                                    counts: [Int], wire: WirePrecision) throws -> CollectiveRequest {
        switch wire {
        case .fp32: try reduceScatter(input, into: output, counts: counts, .average)
        case .bf16: try GatheredBFloat16Average.averageScatter(input, into: output, counts: counts, communicator: self)
        }
        return CompletedRequest()
    }
}

/// bfloat16 averaging built on `allGatherV` alone: every rank receives every rank's whole rounded buffer (the MPI
/// path moves a 1/size share of that) and sums the part it needs. The results are bit for bit those of
/// `MPICommunicator`, which sums the same values in the same order.
enum GatheredBFloat16Average {
    static func average(_ buffer: UnsafeMutableBufferPointer<Float>, communicator: Communicator) throws {
        let count = buffer.count
        guard count > 0 else { return }
        let sums = try gatherAndSum(UnsafeBufferPointer(buffer), segment: 0..<count, communicator: communicator)
        var rounded = [UInt16](repeating: 0, count: count)
        rounded.withUnsafeMutableBufferPointer { BFloat16.round(sums, into: $0.baseAddress!, count: count) }
        rounded.withUnsafeBufferPointer { BFloat16.widen($0.baseAddress!, into: buffer.baseAddress!, count: count) }
    }

    static func averageScatter(_ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>,
                               counts: [Int], communicator: Communicator) throws {
        try CollectiveValidation.counts(counts, size: communicator.size, rank: communicator.rank, localCount: output.count,
                                        totalCount: input.count, what: "averageScatter")
        let offset = counts[..<communicator.rank].reduce(0, +)
        let sums = try gatherAndSum(input, segment: offset..<(offset + output.count), communicator: communicator)
        for i in output.indices { output[i] = sums[i] }
    }

    /// Σ over ranks, in rank order and in Float32, of bf16(input / size) on `segment`.
    private static func gatherAndSum(_ input: UnsafeBufferPointer<Float>, segment: Range<Int>,
                                     communicator: Communicator) throws -> [Float] {
        let count = input.count, size = communicator.size
        guard count > 0 else { return [] }
        var rounded = [UInt16](repeating: 0, count: count)
        rounded.withUnsafeMutableBufferPointer {
            BFloat16.round(input.baseAddress!, dividedBy: Float(size), into: $0.baseAddress!, count: count)
        }
        var gathered = [UInt16](repeating: 0, count: count * size)
        try rounded.withUnsafeBufferPointer { local in
            try gathered.withUnsafeMutableBufferPointer { try communicator.allGather(local, into: $0) }
        }
        var sums = [Float](repeating: 0, count: segment.count)
        guard !segment.isEmpty else { return sums }
        gathered.withUnsafeBufferPointer { all in
            sums.withUnsafeMutableBufferPointer {
                BFloat16.sumInFloat32(all.baseAddress! + segment.lowerBound, contributions: size, stride: count,
                                      count: segment.count, into: $0.baseAddress!)
            }
        }
        return sums
    }
}
