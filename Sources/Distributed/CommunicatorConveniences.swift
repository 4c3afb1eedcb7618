import Foundation

/// Array and value conveniences built on the buffer-based collectives.
extension Communicator {
    /// Whether this rank is rank 0, the one that logs, saves and decides.
    public var isRoot: Bool { rank == 0 }

    /// All-reduces an array in place.
    public func allReduce<T: CollectiveScalar>(_ values: inout [T], _ operation: ReduceOperation) throws {
        try values.withUnsafeMutableBufferPointer { try allReduce($0, operation) }
    }

    /// All-reduces one number and returns the combined value.
    public func allReduce<T: CollectiveScalar>(_ value: T, _ operation: ReduceOperation) throws -> T {
        var values = [value]
        try allReduce(&values, operation)
        return values[0]
    }

    /// Broadcasts an array from `root`; all ranks must pass arrays of the same length.
    public func broadcast<T: CollectiveScalar>(_ values: inout [T], root: Int) throws {
        try values.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
    }

    /// Broadcasts raw bytes from `root`; all ranks must pass buffers of the same length.
    public func broadcastBytes(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws {
        try broadcast(bytes.bindMemory(to: UInt8.self), root: root)
    }

    /// Sends a Codable value from `root` to every rank (JSON on the wire) and returns it everywhere.
    ///
    /// `value` is only read on `root`; other ranks may pass nil. Lets rank 0 broadcast a decision
    /// such as "stop now" or "resume from checkpoint X" so all ranks act on the same one.
    public func broadcastValue<V: Codable>(_ value: V?, root: Int = 0) throws -> V {
        try CollectiveValidation.root(root, size: size)
        var payload = [UInt8]()
        var encodingFailure: Error?
        if rank == root {
            do {
                guard let value else { throw DistributedError.invalidArgument("broadcastValue: root \(root) passed no value") }
                payload = Array(try JSONEncoder().encode(value))
            } catch {
                encodingFailure = error
            }
        }
        // A length of -1 tells the other ranks that the root failed, so they throw instead of hanging.
        var length = [Int64(encodingFailure == nil ? payload.count : -1)]
        try broadcast(&length, root: root)
        if let encodingFailure { throw encodingFailure }
        guard length[0] >= 0 else {
            throw DistributedError.invalidState("broadcastValue: root \(root) had no encodable \(V.self) value")
        }
        if rank != root { payload = [UInt8](repeating: 0, count: Int(length[0])) }
        try broadcast(&payload, root: root)
        return try JSONDecoder().decode(V.self, from: Data(payload))
    }

    /// Concatenates equal-sized contributions of all ranks in rank order into `gathered`.
    public func allGather<T: CollectiveScalar>(_ local: UnsafeBufferPointer<T>, into gathered: UnsafeMutableBufferPointer<T>) throws {
        try allGatherV(local, into: gathered, counts: [Int](repeating: local.count, count: size))
    }

    /// Returns every rank's `localCount`, in rank order.
    public func allGatherCounts(_ localCount: Int) throws -> [Int] {
        var local = Int64(localCount)
        var gathered = [Int64](repeating: 0, count: size)
        try withUnsafeMutablePointer(to: &local) { localPointer in
            try gathered.withUnsafeMutableBufferPointer {
                try allGatherV(UnsafeBufferPointer(start: localPointer, count: 1), into: $0,
                               counts: [Int](repeating: 1, count: size))
            }
        }
        return gathered.map { Int($0) }
    }

    /// Concatenates every rank's array in rank order; ranks may contribute different lengths.
    public func allGatherV<T: CollectiveScalar>(_ local: [T]) throws -> (values: [T], counts: [Int]) {
        let counts = try allGatherCounts(local.count)
        var gathered = [T](unsafeUninitializedCapacity: counts.reduce(0, +)) { buffer, initialized in
            initialized = buffer.count
        }
        try local.withUnsafeBufferPointer { localBuffer in
            try gathered.withUnsafeMutableBufferPointer { try allGatherV(localBuffer, into: $0, counts: counts) }
        }
        return (gathered, counts)
    }
}
