/// Moves sharded state between every rank's own range and one full copy on rank 0: for checkpoints, which hold the
/// full optimizer state, and for resuming a sharded run from them.
///
/// Each rank's range travels in one broadcast with that rank (gathering) or rank 0 (scattering) as root, so no rank
/// but 0 ever holds more than its own range plus one rank's range of scratch; the extra receivers only cost
/// bandwidth, once per save or resume.
extension FlatShardLayout {
    /// Copies every rank's `shard` into `full` on rank 0; `full` is ignored elsewhere (pass nil).
    public func gatherToRoot(_ shard: UnsafeMutableBufferPointer<Float>, into full: UnsafeMutableBufferPointer<Float>?,
                             communicator: Communicator) throws {
        try exchange(shard, full, communicator: communicator) { owner in owner }
        if communicator.rank == 0, let full, let source = shard.baseAddress, !shard.isEmpty {
            (full.baseAddress! + ranges[0].lowerBound).update(from: source, count: shard.count)
        }
    }

    /// Copies each rank's range of rank 0's `full` into that rank's `shard`; `full` is ignored off rank 0 (pass nil).
    public func scatterFromRoot(_ full: UnsafeMutableBufferPointer<Float>?, into shard: UnsafeMutableBufferPointer<Float>,
                                communicator: Communicator) throws {
        if communicator.rank == 0, let full, let destination = shard.baseAddress, !shard.isEmpty {
            destination.update(from: full.baseAddress! + ranges[0].lowerBound, count: shard.count)
        }
        try exchange(shard, full, communicator: communicator) { _ in 0 }
    }

    /// One broadcast per rank r > 0 of r's range, rooted at `root(r)`: rank r uses its shard, rank 0 its slice of
    /// `full`, the others scratch.
    private func exchange(_ shard: UnsafeMutableBufferPointer<Float>, _ full: UnsafeMutableBufferPointer<Float>?,
                          communicator: Communicator, root: (Int) -> Int) throws {
        let rank = communicator.rank
        guard ranges.count == communicator.size, shard.count == ranges[rank].count else {
            throw DistributedError.invalidArgument("rank \(rank) holds \(shard.count) elements, its shard of \(ranges.count) has \(ranges[rank].count)")
        }
        if rank == 0 {
            guard let full, full.count == ranges.last?.upperBound ?? 0 else {
                throw DistributedError.invalidArgument("rank 0 needs the full buffer of \(ranges.last?.upperBound ?? 0) elements")
            }
        }
        let scratch = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(largestCount, 1))
        defer { scratch.deallocate() }
        for owner in ranges.indices.dropFirst() {
            let range = ranges[owner]
            let buffer: UnsafeMutableBufferPointer<Float>
            if rank == owner { buffer = shard }
            else if rank == 0 { buffer = UnsafeMutableBufferPointer(rebasing: full![range]) }
            else { buffer = UnsafeMutableBufferPointer(rebasing: scratch[0..<range.count]) }
            try communicator.broadcast(buffer, root: root(owner))
        }
    }
}
