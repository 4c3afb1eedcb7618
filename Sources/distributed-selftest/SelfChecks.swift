import CMPI
import Distributed
import Foundation
import TensorCore

/// Exact-value checks of every collective and of the helpers built on them, on any number of ranks.
///
/// Values are small integers or dyadic fractions so sums are exact whatever order MPI adds them in,
/// which lets every comparison be bitwise. Failed expectations never change which collectives run,
/// so one wrong value cannot make the ranks diverge and hang.
final class SelfChecks {
    let communicator: MPICommunicator
    var rank: Int { communicator.rank }
    var size: Int { communicator.size }
    private var failures = 0
    private var currentCheck = ""

    init(_ communicator: MPICommunicator) { self.communicator = communicator }

    /// Runs every check and returns the number of failed expectations on this rank.
    func runAll() -> Int {
        let checks: [(String, () throws -> Void)] = [
            ("broadcast", checkBroadcast),
            ("allReduce", checkAllReduce),
            ("allGatherV", checkAllGatherV),
            ("reduceScatter", checkReduceScatter),
            ("chunked (tiny MPI count limit)", checkChunkedPaths),
            ("startAllReduce", checkNonBlocking),
            ("MPI error to Swift error", checkMPIErrorConversion),
            ("bucket reducer vs allReduce", checkBucketReducer),
            ("replica check", checkReplicaCheck),
            ("feature gather forward/backward", checkFeatureGather),
            ("bf16 average and average-scatter", checkBFloat16Average),
            ("ZeRO-1 sharded bucket reducer", checkShardedBucketReducer),
            ("shard gather to rank 0 and scatter back", checkShardTransfer),
        ]
        for (name, check) in checks {
            currentCheck = name
            let before = failures
            do { try check() } catch { expect(false, "threw \(error)") }
            if rank == 0 || failures > before {
                print("rank \(rank)/\(size): \(failures == before ? "ok  " : "FAIL") \(name)")
            }
        }
        if rank == 0 { print("distributed-selftest: \(size) ranks, \(failures == 0 ? "all checks passed" : "\(failures) failures on rank 0")") }
        return failures
    }

    func expect(_ condition: Bool, _ message: @autoclosure () -> String) {
        guard !condition else { return }
        failures += 1
        fputs("rank \(rank): \(currentCheck): \(message())\n", stderr)
    }

    func expectEqual<T: Equatable>(_ actual: [T], _ expected: [T], _ what: String) {
        guard actual != expected else { return }
        let first = zip(actual, expected).enumerated().first { $0.element.0 != $0.element.1 }
        expect(false, "\(what): \(actual.count) vs \(expected.count) values; first difference at \(first.map { "\($0.offset): \($0.element.0) != \($0.element.1)" } ?? "length")")
    }

    // MARK: - Collectives

    func checkBroadcast() throws {
        for root in 0..<size {
            var values = (0..<1000).map { Float(rank * 10_000 + $0) }
            try communicator.broadcast(&values, root: root)
            expectEqual(values, (0..<1000).map { Float(root * 10_000 + $0) }, "floats from root \(root)")
        }
        var bytes = [UInt8](repeating: UInt8(rank), count: 333)
        try bytes.withUnsafeMutableBytes { try communicator.broadcastBytes($0, root: size - 1) }
        expectEqual(bytes, [UInt8](repeating: UInt8(size - 1), count: 333), "bytes from last rank")

        struct Decision: Codable, Equatable { var stop: Bool; var checkpoint: String; var step: Int }
        let decision = Decision(stop: true, checkpoint: "runs/a/step-\(rank).ckpt", step: 42 + rank)
        let received = try communicator.broadcastValue(rank == 0 ? decision : nil, root: 0)
        expect(received == Decision(stop: true, checkpoint: "runs/a/step-0.ckpt", step: 42), "decision \(received)")
        // A root without a value makes every rank throw rather than leaving the others waiting.
        do {
            _ = try communicator.broadcastValue(Optional<Decision>.none, root: 0)
            expect(false, "broadcastValue without a root value succeeded")
        } catch let error as DistributedError {
            expect(rank == 0 ? error.description.contains("passed no value") : error.description.contains("no encodable"), "\(error)")
        }
    }

    func checkAllReduce() throws {
        let n = 4099
        let ranks = (0..<size).map(Float.init)
        let base = (0..<n).map { Float($0 % 97) }
        for operation in ReduceOperation.allCases {
            var values = base.map { $0 + Float(rank) }
            try communicator.allReduce(&values, operation)
            let expected: [Float] = base.map { v in
                switch operation {
                case .sum: return ranks.reduce(0) { $0 + v + $1 }
                case .average: return ranks.reduce(0) { $0 + v + $1 } / Float(size)
                case .max: return v + Float(size - 1)
                case .min: return v
                }
            }
            expectEqual(values, expected, "Float \(operation)")
        }
        let doubleSum = try communicator.allReduce(Double(rank) + 0.5, .sum)
        expect(doubleSum == Double(size * (size - 1)) / 2 + 0.5 * Double(size), "Double sum \(doubleSum)")
        var ints = [Int32(rank), Int32(-rank), Int32(7)]
        try communicator.allReduce(&ints, .max)
        expectEqual(ints, [Int32(size - 1), 0, 7], "Int32 max")
        var empty: [Float] = []
        try communicator.allReduce(&empty, .sum)
        do {
            var integers = [Int32(1)]
            try communicator.allReduce(&integers, .average)
            expect(false, "average of Int32 was accepted")
        } catch DistributedError.invalidArgument {}
    }

    func checkAllGatherV() throws {
        let counts = (0..<size).map { $0 + 1 }
        let local = (0...rank).map { Float(100 * rank + $0) }
        let expected = (0..<size).flatMap { r in (0...r).map { Float(100 * r + $0) } }
        var gathered = [Float](repeating: -1, count: counts.reduce(0, +))
        try local.withUnsafeBufferPointer { l in
            try gathered.withUnsafeMutableBufferPointer { try communicator.allGatherV(l, into: $0, counts: counts) }
        }
        expectEqual(gathered, expected, "variable counts")

        // In place: this rank's contribution already sits in its slot of the output.
        var inPlace = [Float](repeating: -1, count: counts.reduce(0, +))
        let offset = counts[..<rank].reduce(0, +)
        for i in 0...rank { inPlace[offset + i] = local[i] }
        try inPlace.withUnsafeMutableBufferPointer { out in
            try communicator.allGatherV(UnsafeBufferPointer(rebasing: out[offset..<(offset + rank + 1)]), into: out, counts: counts)
        }
        expectEqual(inPlace, expected, "in place")

        let (values, gatheredCounts) = try communicator.allGatherV((0..<(2 * rank)).map { Int32(rank * 1000 + $0) })
        expectEqual(gatheredCounts, (0..<size).map { 2 * $0 }, "gathered counts")
        expectEqual(values, (0..<size).flatMap { r in (0..<(2 * r)).map { Int32(r * 1000 + $0) } }, "array convenience")

        var equal = [Double](repeating: -1, count: 3 * size)
        try [Double(rank), 0.5, -Double(rank)].withUnsafeBufferPointer { l in
            try equal.withUnsafeMutableBufferPointer { try communicator.allGather(l, into: $0) }
        }
        expectEqual(equal, (0..<size).flatMap { [Double($0), 0.5, -Double($0)] }, "equal-count allGather")
    }

    func checkReduceScatter() throws {
        let counts = (0..<size).map { 3 + 2 * $0 }
        let total = counts.reduce(0, +)
        let input = (0..<total).map { Float($0) + Float(rank) * 0.5 }
        let myOffset = counts[..<rank].reduce(0, +)
        let rankSum = Float(size * (size - 1)) / 2 * 0.5
        for operation in [ReduceOperation.sum, .average, .max] {
            var output = [Float](repeating: -1, count: counts[rank])
            try input.withUnsafeBufferPointer { i in
                try output.withUnsafeMutableBufferPointer {
                    try communicator.reduceScatter(i, into: $0, counts: counts, operation)
                }
            }
            let expected: [Float] = (0..<counts[rank]).map { k in
                let v = Float(myOffset + k)
                switch operation {
                case .sum: return Float(size) * v + rankSum
                case .average: return (Float(size) * v + rankSum) / Float(size)
                default: return v + Float(size - 1) * 0.5
                }
            }
            expectEqual(output, expected, "reduceScatter \(operation)")
        }
    }

    /// With a tiny per-call limit every split path runs (chunked allreduce/broadcast, the broadcast
    /// fallback of allGatherV and the reduce fallback of reduceScatter), as with >2^31 elements.
    func checkChunkedPaths() throws {
        try communicator.setChunkElementLimit(1000)
        defer { try? communicator.setChunkElementLimit(Int(Int32.max)) }
        let n = 2500
        var values = (0..<n).map { Float($0) * Float(rank + 1) }
        try communicator.allReduce(&values, .sum)
        let factor = Float(size * (size + 1) / 2)
        expectEqual(values, (0..<n).map { Float($0) * factor }, "chunked allReduce")

        var broadcasted = (0..<n).map { Float($0 + rank) }
        try communicator.broadcast(&broadcasted, root: size - 1)
        expectEqual(broadcasted, (0..<n).map { Float($0 + size - 1) }, "chunked broadcast")

        let counts = (0..<size).map { 900 + 150 * $0 }
        let local = (0..<counts[rank]).map { Float(rank * 100_000 + $0) }
        var gathered = [Float](repeating: -1, count: counts.reduce(0, +))
        try local.withUnsafeBufferPointer { l in
            try gathered.withUnsafeMutableBufferPointer { try communicator.allGatherV(l, into: $0, counts: counts) }
        }
        expectEqual(gathered, (0..<size).flatMap { r in (0..<counts[r]).map { Float(r * 100_000 + $0) } }, "fallback allGatherV")

        let input = (0..<counts.reduce(0, +)).map { Float($0 % 1000) + Float(rank) }
        var output = [Float](repeating: -1, count: counts[rank])
        try input.withUnsafeBufferPointer { i in
            try output.withUnsafeMutableBufferPointer { try communicator.reduceScatter(i, into: $0, counts: counts, .sum) }
        }
        let myOffset = counts[..<rank].reduce(0, +)
        let rankSum = Float(size * (size - 1) / 2)
        expectEqual(output, (0..<counts[rank]).map { Float(size) * Float((myOffset + $0) % 1000) + rankSum }, "fallback reduceScatter")
    }

    func checkNonBlocking() throws {
        var buffers = (0..<4).map { b in (0..<(10_000 * (b + 1))).map { Float($0 % 13 + b) * Float(rank + 1) } }
        var requests: [CollectiveRequest] = []
        for b in buffers.indices {
            requests.append(try buffers[b].withUnsafeMutableBufferPointer { try communicator.startAllReduce($0, .sum) })
        }
        // Test without blocking, then wait; waiting twice must be harmless.
        _ = try requests.map { try $0.test() }
        for request in requests { try request.wait(); try request.wait() }
        expect(try requests.allSatisfy { try $0.test() }, "a waited request still tests incomplete")
        let factor = Float(size * (size + 1) / 2)
        for b in buffers.indices {
            expectEqual(buffers[b], (0..<(10_000 * (b + 1))).map { Float($0 % 13 + b) * factor }, "buffer \(b)")
        }
    }

    func checkMPIErrorConversion() throws {
        let root = Int32(size + 5)
        do {
            try communicator.withWorldCommunicator { world in
                var value: Float = 0
                try checkMPI(MPI_Bcast(&value, 1, CMPI_float(), root, world), "MPI_Bcast")
            }
            expect(false, "MPI accepted root \(root)")
        } catch let DistributedError.mpi(operation, code, message) {
            expect(operation == "MPI_Bcast" && code != 0 && message.lowercased().contains("root"),
                   "unexpected MPI error: \(operation) \(code) \(message)")
        }
        do {
            var values = [Float](repeating: 0, count: 4)
            try communicator.broadcast(&values, root: size)
            expect(false, "broadcast accepted root \(size)")
        } catch DistributedError.invalidArgument {}
    }

    // MARK: - Helpers built on the collectives

    /// The bucket reducer must leave exactly what one plain average all-reduce of the whole buffer gives.
    func checkBucketReducer() throws {
        let parameterCount = 37
        let (contiguous, scattered) = randomLayouts(seed: 7, parameterCount: parameterCount, largest: 3000, gap: 5)
        let frozen: Set<Int> = [3, 4, 17, 30]
        for (layoutName, layout) in [("contiguous", contiguous), ("scattered", scattered)] {
            for deterministic in [true, false] {
                for useFrozen in [false, true] {
                    let total = layout.map { $0.offset + $0.count }.max()!
                    var rankGenerator = SplitMix64(seed: UInt64(100 + rank))
                    let gradients = (0..<total).map { _ in Float(Int(rankGenerator.next() % 2001) - 1000) * 0.5 }
                    var expected = gradients
                    try communicator.allReduce(&expected, .average)
                    // Frozen parameters and the gaps between parameters keep this rank's own values.
                    var reduced = [Bool](repeating: false, count: total)
                    for p in 0..<parameterCount where !(useFrozen && frozen.contains(p)) {
                        for i in layout[p].offset..<(layout[p].offset + layout[p].count) { reduced[i] = true }
                    }
                    for i in 0..<total where !reduced[i] { expected[i] = gradients[i] }
                    let reducer = try GradientBucketReducer(communicator: communicator, layout: layout,
                                                            bucketBytes: 16 * 1024, deterministic: deterministic)
                    if useFrozen { try reducer.setActive(parameters: (0..<parameterCount).filter { !frozen.contains($0) }) }
                    var buffer = gradients
                    for step in 0..<2 {
                        if step > 0 { buffer = gradients }
                        let waited = try buffer.withUnsafeMutableBufferPointer { grads -> Double in
                            for p in (0..<parameterCount).reversed() {
                                try reducer.gradientReady(parameter: p, gradients: grads.baseAddress!)
                                if p % 5 == 0 { try reducer.poll() }
                            }
                            return try reducer.finish()
                        }
                        let what = "\(layoutName) deterministic=\(deterministic) frozen=\(useFrozen) step \(step)"
                        expect(waited >= 0, "\(what): negative wait")
                        expectEqual(buffer, expected, what)
                    }
                    expect(reducer.plan.buckets.count > 3, "only \(reducer.plan.buckets.count) buckets")
                }
            }
        }
    }

    /// Parameters of random sizes (the same on every rank) laid out back to back in order, and shuffled with gaps.
    func randomLayouts(seed: UInt64, parameterCount: Int, largest: Int, gap: Int)
        -> (contiguous: [(offset: Int, count: Int)], scattered: [(offset: Int, count: Int)]) {
        var generator = SplitMix64(seed: seed)
        let sizes = (0..<parameterCount).map { _ in Int(generator.next() % UInt64(largest)) + 1 }
        return (packedLayout(sizes, order: Array(0..<parameterCount)),
                packedLayout(sizes, order: (0..<parameterCount).shuffled(using: &generator), gap: gap))
    }

    /// Lays parameters out in `order` with `gap` unused floats between them.
    func packedLayout(_ sizes: [Int], order: [Int], gap: Int = 0) -> [(offset: Int, count: Int)] {
        var layout = [(offset: Int, count: Int)](repeating: (0, 0), count: sizes.count)
        var offset = 0
        for p in order {
            layout[p] = (offset, sizes[p])
            offset += sizes[p] + gap
        }
        return layout
    }

    func checkReplicaCheck() throws {
        var parameters = (0..<100_003).map { Float($0) * (rank == 0 ? 0.25 : -1) }
        try communicator.broadcast(&parameters, root: 0)
        let same = try parameters.withUnsafeBufferPointer { try ReplicaCheck.run(parameters: $0, communicator: communicator) }
        expect(same.isConsistent && same.checksums.count == size, "identical replicas reported as \(same)")
        if rank == size - 1 && size > 1 { parameters[77_777] = parameters[77_777].nextUp }
        let changed = try parameters.withUnsafeBufferPointer { try ReplicaCheck.run(parameters: $0, communicator: communicator) }
        expectEqual(changed.divergentRanks, size > 1 ? [size - 1] : [], "divergent ranks")
    }

    /// Rank r holds 2+r rows; the backward sums, over ranks, each rank's gradient for my rows.
    func checkFeatureGather() throws {
        let dimension = 3
        let rows = 2 + rank
        let local = (0..<(rows * dimension)).map { Float(rank * 1000 + $0) }
        let gathered = try allGatherFeatures(local, featureDimension: dimension, communicator: communicator)
        expectEqual(gathered.rowsPerRank, (0..<size).map { 2 + $0 }, "rows per rank")
        expectEqual(gathered.values, (0..<size).flatMap { r in (0..<((2 + r) * dimension)).map { Float(r * 1000 + $0) } }, "gathered rows")

        // Rank q's gradient for gathered element e is 10000 q + e.
        let gradient = (0..<gathered.values.count).map { Float(10_000 * rank + $0) }
        let localGradient = try allGatherFeaturesBackward(gradient, rowsPerRank: gathered.rowsPerRank,
                                                          featureDimension: dimension, communicator: communicator)
        let myOffset = gathered.rowsPerRank[..<rank].reduce(0, +) * dimension
        let rankSum = Float(10_000 * size * (size - 1) / 2)
        expectEqual(localGradient, (0..<(rows * dimension)).map { Float(size) * Float(myOffset + $0) + rankSum }, "backward sums")
    }
}
