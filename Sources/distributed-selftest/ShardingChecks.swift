import Distributed
import Foundation
import TensorCore

/// Checks of the ZeRO-1 and bf16 gradient paths against values computed independently on every rank.
extension SelfChecks {
    /// Every rank can compute every rank's input, so the expected result is the Float32 sum in rank order of each
    /// rank's bf16-rounded share, rounded once more for the all-reduce.
    func checkBFloat16Average() throws {
        let count = 1_003
        func value(_ k: Int, rank r: Int) -> Float {
            let wave = sin(Double(k * (r + 3)) * 0.37)
            return Float(wave) * Float(1 + k % 7)
        }
        let inputs: [[Float]] = (0..<size).map { r in (0..<count).map { value($0, rank: r) } }
        func share(_ value: Float) -> Float { BFloat16.widen(BFloat16.round(value / Float(size))) }
        let sums: [Float] = (0..<count).map { k in inputs.map { share($0[k]) }.reduce(0, +) }
        var buffer = inputs[rank]
        try buffer.withUnsafeMutableBufferPointer { try communicator.startAverage($0, wire: .bf16).wait() }
        expectEqual(buffer.map(\.bitPattern), sums.map { BFloat16.widen(BFloat16.round($0)).bitPattern }, "bf16 average")

        // Unequal segments; every rank's segment starts where the previous one ends.
        let counts = (0..<size).map { 100 + 50 * $0 }
        let offset = counts[..<rank].reduce(0, +)
        let segmentSums = Array(sums[offset..<(offset + counts[rank])])
        var segment = [Float](repeating: -1, count: counts[rank])
        try inputs[rank].withUnsafeBufferPointer { all in
            let input = UnsafeBufferPointer(rebasing: all[0..<counts.reduce(0, +)])
            try segment.withUnsafeMutableBufferPointer { try communicator.startAverageScatter(input, into: $0, counts: counts, wire: .bf16).wait() }
        }
        expectEqual(segment.map(\.bitPattern), segmentSums.map(\.bitPattern), "bf16 average-scatter keeps the Float32 sum")
    }

    /// Reduce-scattered buckets leave in each rank's shard what an all-reduce leaves in that range; scattered
    /// (staged) buckets too.
    func checkShardedBucketReducer() throws {
        let parameterCount = 23
        let (contiguous, scattered) = randomLayouts(seed: 11, parameterCount: parameterCount, largest: 2000, gap: 3)
        for (layoutName, layout) in [("contiguous", contiguous), ("scattered", scattered)] {
            for wire in WirePrecision.allCases {
                let total = layout.map { $0.offset + $0.count }.max()!
                var rankGenerator = SplitMix64(seed: UInt64(200 + rank))
                let gradients = (0..<total).map { _ in Float(Int(rankGenerator.next() % 2001) - 1000) * 0.25 }
                var expected = gradients
                try expected.withUnsafeMutableBufferPointer { try communicator.startAverage($0, wire: wire).wait() }
                let shards = try FlatShardLayout(totalCount: total, ranks: size)
                let own = shards.ranges[rank]
                let reducer = try GradientBucketReducer(communicator: communicator, layout: layout, bucketBytes: 8 * 1024,
                                                        shards: shards, wire: wire)
                var buffer = gradients
                try buffer.withUnsafeMutableBufferPointer { grads in
                    for p in (0..<parameterCount).reversed() { try reducer.gradientReady(parameter: p, gradients: grads.baseAddress!) }
                    try reducer.finish()
                }
                let what = "\(layoutName) \(wire)"
                for p in 0..<parameterCount {
                    // A bf16 all-reduce (of a staged bucket) rounds the Float32 sum once more before it travels back;
                    // a reduce-scatter (of a contiguous one) does not.
                    let scatteredInPlace = reducer.plan.buckets[reducer.plan.bucketOfParameter[p]].contiguousRange != nil
                    let roundHeld = wire == .bf16 && scatteredInPlace
                    let piece = shards.piece(of: layout[p].offset..<(layout[p].offset + layout[p].count), ownedBy: rank)
                    let held = reducer.shardGradients[(piece.lowerBound - own.lowerBound)..<(piece.upperBound - own.lowerBound)]
                    let compared = held.map { roundHeld ? BFloat16.widen(BFloat16.round($0)) : $0 }
                    expectEqual(compared.map(\.bitPattern), expected[piece].map(\.bitPattern), "\(what) parameter \(p)")
                }
            }
        }
    }

    /// Rank r's shard holds r·1000 + k; rank 0 gathers them all, then scatters a changed full buffer back.
    func checkShardTransfer() throws {
        let shards = try FlatShardLayout(totalCount: 10_007, ranks: size)
        let own = shards.ranges[rank]
        var shard = (0..<own.count).map { Float(rank * 1000 + $0) }
        var full = [Float](repeating: -1, count: rank == 0 ? 10_007 : 0)
        try shard.withUnsafeMutableBufferPointer { s in
            try full.withUnsafeMutableBufferPointer { try shards.gatherToRoot(s, into: rank == 0 ? $0 : nil, communicator: communicator) }
        }
        if rank == 0 {
            expectEqual(full, (0..<size).flatMap { r in (0..<shards.ranges[r].count).map { Float(r * 1000 + $0) } }, "gathered")
            full = full.map { $0 + 0.5 }
        }
        try shard.withUnsafeMutableBufferPointer { s in
            try full.withUnsafeMutableBufferPointer { try shards.scatterFromRoot(rank == 0 ? $0 : nil, into: s, communicator: communicator) }
        }
        expectEqual(shard, (0..<own.count).map { Float(rank * 1000 + $0) + 0.5 }, "scattered back")
    }
}
