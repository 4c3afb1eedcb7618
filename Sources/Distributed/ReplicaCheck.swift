/// The outcome of comparing the parameter replicas of all ranks.
public struct ReplicaCheckResult: Equatable, Sendable {
    /// Each rank's checksum of its parameter bytes, in rank order.
    public let checksums: [UInt64]
    /// Each rank's parameter byte count, in rank order.
    public let byteCounts: [Int]
    /// Ranks whose bytes differ from rank 0's (the rank parameters are broadcast from).
    public let divergentRanks: [Int]

    /// Whether every rank holds exactly rank 0's bytes.
    public var isConsistent: Bool { divergentRanks.isEmpty }
}

/// Checks that data-parallel replicas still hold bit-identical parameters.
///
/// Each rank hashes its buffer locally and only the 64-bit checksums travel, so the check is cheap
/// enough to run at start (after rank 0's broadcast) and every N steps.
public enum ReplicaCheck {
    /// Compares `parameters` across all ranks; every rank receives the same result.
    public static func run(parameters: UnsafeBufferPointer<Float>, communicator: Communicator) throws -> ReplicaCheckResult {
        try run(bytes: UnsafeRawBufferPointer(parameters), communicator: communicator)
    }

    /// Compares raw bytes across all ranks; every rank receives the same result.
    public static func run(bytes: UnsafeRawBufferPointer, communicator: Communicator) throws -> ReplicaCheckResult {
        let local: [UInt64] = [Checksum64.hash(bytes), UInt64(bytes.count)]
        var gathered = [UInt64](repeating: 0, count: 2 * communicator.size)
        try local.withUnsafeBufferPointer { localBuffer in
            try gathered.withUnsafeMutableBufferPointer {
                try communicator.allGatherV(localBuffer, into: $0, counts: [Int](repeating: 2, count: communicator.size))
            }
        }
        let checksums = stride(from: 0, to: gathered.count, by: 2).map { gathered[$0] }
        let byteCounts = stride(from: 1, to: gathered.count, by: 2).map { Int(gathered[$0]) }
        let divergent = (0..<communicator.size).filter { checksums[$0] != checksums[0] || byteCounts[$0] != byteCounts[0] }
        return ReplicaCheckResult(checksums: checksums, byteCounts: byteCounts, divergentRanks: divergent)
    }
}
