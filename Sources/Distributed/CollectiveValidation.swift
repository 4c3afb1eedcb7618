/// Argument checks shared by every `Communicator`, so local and MPI runs reject the same mistakes.
enum CollectiveValidation {
    static func root(_ root: Int, size: Int) throws {
        guard (0..<size).contains(root) else {
            throw DistributedError.invalidArgument("root \(root) is outside 0..<\(size)")
        }
    }

    static func operation(_ operation: ReduceOperation, kind: ScalarKind) throws {
        if operation == .average && !kind.isFloatingPoint {
            throw DistributedError.invalidArgument("average needs floating-point elements, got \(kind)")
        }
    }

    /// Checks per-rank counts against the local and gathered buffer sizes; returns their sum.
    @discardableResult
    static func counts(_ counts: [Int], size: Int, rank: Int, localCount: Int, totalCount: Int, what: String) throws -> Int {
        guard counts.count == size else {
            throw DistributedError.invalidArgument("\(what): \(counts.count) counts for \(size) ranks")
        }
        var total = 0
        for c in counts {
            guard c >= 0 else { throw DistributedError.invalidArgument("\(what): negative count \(c)") }
            total += c
        }
        guard counts[rank] == localCount else {
            throw DistributedError.invalidArgument("\(what): rank \(rank) has \(localCount) elements but counts say \(counts[rank])")
        }
        guard total == totalCount else {
            throw DistributedError.invalidArgument("\(what): counts sum to \(total) but the full buffer holds \(totalCount)")
        }
        return total
    }
}
