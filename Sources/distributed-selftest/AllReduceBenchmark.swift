import Distributed
import Foundation
import TensorCore

/// Measures, in one run and on the same buffers, the bandwidth of `MPICommunicator.allReduce`
/// against raw MPI_Allreduce called directly on the MPI thread.
///
/// Both sides are timed the same way: in adjacent pairs (raw, ours) with alternating order, each
/// call after its own barrier, so machine noise hits both. Bandwidth columns use each side's best
/// time; the ratio is the median of the pairs' time ratios (robust on a shared machine). Raw
/// MPI_Allreduce is timed around the bare MPI call, ours from the caller, so our overhead
/// (locking, queueing, thread hand-off) is included. Bandwidth is bytes / time
/// (algorithm bandwidth, as nccl-tests "algbw").
struct AllReduceBenchmark {
    let communicator: MPICommunicator
    let json: Bool
    let maxMegabytes: Int

    struct Row {
        let megabytes: Int
        let repetitions: Int
        let oursSeconds: Double
        let mpiSeconds: Double
        /// `startAllReduce` + `wait`: the queued path the gradient bucket reducer uses.
        let nonBlockingSeconds: Double
        var oursGBps: Double { Double(megabytes << 20) / oursSeconds / 1e9 }
        var mpiGBps: Double { Double(megabytes << 20) / mpiSeconds / 1e9 }
        var nonBlockingGBps: Double { Double(megabytes << 20) / nonBlockingSeconds / 1e9 }
        /// Median over repetitions of raw time / our time within the same repetition: adjacent calls
        /// share the machine's state, so the pairing cancels most noise from other processes.
        let ratio: Double
        let nonBlockingRatio: Double
    }

    func run() throws {
        var rows: [Row] = []
        var megabytes = 1
        while megabytes <= maxMegabytes {
            rows.append(try measure(megabytes: megabytes))
            megabytes *= 4
        }
        guard communicator.rank == 0 else { return }
        print("allreduce: \(communicator.size) ranks, float32 sum in place; GB/s from the best of N repetitions, ratio = median of adjacent-pair MPI/ours times")
        print("    size  reps    ours GB/s     MPI GB/s    ratio  non-blocking GB/s  ratio")
        for row in rows {
            print(String(format: "%6d MB %5d %12.3f %12.3f %8.3f %18.3f %6.3f", row.megabytes, row.repetitions, row.oursGBps,
                         row.mpiGBps, row.ratio, row.nonBlockingGBps, row.nonBlockingRatio))
        }
        let minimum = rows.map(\.ratio).min() ?? 0
        let nonBlockingMinimum = rows.map(\.nonBlockingRatio).min() ?? 0
        print(String(format: "allreduce_vs_mpi_min = %.3f   nonblocking_vs_mpi_min = %.3f", minimum, nonBlockingMinimum))
        if json {
            let sizes = rows.map { String($0.megabytes) }.joined(separator: ",")
            let ours = rows.map { String(format: "%.4f", $0.oursGBps) }.joined(separator: ",")
            let mpi = rows.map { String(format: "%.4f", $0.mpiGBps) }.joined(separator: ",")
            let ratios = rows.map { String(format: "%.4f", $0.ratio) }.joined(separator: ",")
            let nonBlocking = rows.map { String(format: "%.4f", $0.nonBlockingGBps) }.joined(separator: ",")
            print("{\"benchmark\":\"allreduce\",\"ranks\":\(communicator.size),\"sizes_mb\":[\(sizes)],\"ours_gbps\":[\(ours)],"
                + "\"mpi_gbps\":[\(mpi)],\"ratios\":[\(ratios)],\"nonblocking_gbps\":[\(nonBlocking)],"
                + "\"nonblocking_vs_mpi_min\":\(String(format: "%.4f", nonBlockingMinimum)),"
                + "\"allreduce_vs_mpi_min\":\(String(format: "%.4f", minimum))}")
        }
    }

    private func measure(megabytes: Int) throws -> Row {
        let count = (megabytes << 20) / MemoryLayout<Float>.stride
        // About 2 GB per side, at least 12 repetitions.
        let repetitions = max(12, min(100, 2048 / megabytes))
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
        defer { buffer.deallocate() }
        // Zeros stay zeros under repeated summing, so values never overflow to infinity.
        buffer.initialize(repeating: 0)

        func timeRaw() throws -> Double { try communicator.timeRawAllReduce(buffer) }
        func timeOurs(nonBlocking: Bool) throws -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            if nonBlocking {
                try communicator.startAllReduce(buffer, .sum).wait()
            } else {
                try communicator.allReduce(buffer, .sum)
            }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        /// Times raw MPI and one of our paths in adjacent pairs, each call after its own barrier,
        /// alternating which goes first; returns (raw, ours) per repetition, slowest rank's times.
        func pairs(nonBlocking: Bool) throws -> (raw: [Double], ours: [Double]) {
            var raw: [Double] = [], ours: [Double] = []
            for repetition in 0...repetitions {
                var rawTime = 0.0, ourTime = 0.0
                for rawFirst in repetition % 2 == 0 ? [true, false] : [false, true] {
                    try communicator.barrier()
                    if rawFirst { rawTime = try timeRaw() } else { ourTime = try timeOurs(nonBlocking: nonBlocking) }
                }
                // Repetition 0 warms up both paths (page faults, MPI buffers).
                if repetition > 0 {
                    raw.append(rawTime)
                    ours.append(ourTime)
                }
            }
            // A collective is done only when every rank is.
            try communicator.allReduce(&raw, .max)
            try communicator.allReduce(&ours, .max)
            return (raw, ours)
        }

        let blocking = try pairs(nonBlocking: false)
        let queued = try pairs(nonBlocking: true)
        return Row(megabytes: megabytes, repetitions: repetitions, oursSeconds: blocking.ours.min()!,
                   mpiSeconds: min(blocking.raw.min()!, queued.raw.min()!), nonBlockingSeconds: queued.ours.min()!,
                   ratio: zip(blocking.raw, blocking.ours).map { $0 / $1 }.median,
                   nonBlockingRatio: zip(queued.raw, queued.ours).map { $0 / $1 }.median)
    }
}
