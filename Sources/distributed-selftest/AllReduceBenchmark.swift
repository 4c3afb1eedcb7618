import CMPI
import Distributed
import Foundation

/// Measures, in one run and on the same buffers, the bandwidth of `MPICommunicator.allReduce`
/// against raw MPI_Allreduce called directly on the MPI thread.
///
/// Both sides are timed the same way: a barrier, then repetitions alternating raw and ours so that
/// machine noise hits both; the best time of each side is kept. Bandwidth is bytes / time
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
        var oursGBps: Double { Double(megabytes << 20) / oursSeconds / 1e9 }
        var mpiGBps: Double { Double(megabytes << 20) / mpiSeconds / 1e9 }
        var ratio: Double { mpiSeconds / oursSeconds }
    }

    func run() throws {
        var rows: [Row] = []
        var megabytes = 1
        while megabytes <= maxMegabytes {
            rows.append(try measure(megabytes: megabytes))
            megabytes *= 4
        }
        guard communicator.rank == 0 else { return }
        print("allreduce: \(communicator.size) ranks, float32 sum in place, best of N repetitions")
        print("    size  reps    ours GB/s     MPI GB/s    ratio")
        for row in rows {
            print(String(format: "%6d MB %5d %12.3f %12.3f %8.3f", row.megabytes, row.repetitions, row.oursGBps, row.mpiGBps, row.ratio))
        }
        let minimum = rows.map(\.ratio).min() ?? 0
        print(String(format: "allreduce_vs_mpi_min = %.3f", minimum))
        if json {
            let sizes = rows.map { String($0.megabytes) }.joined(separator: ",")
            let ours = rows.map { String(format: "%.4f", $0.oursGBps) }.joined(separator: ",")
            let mpi = rows.map { String(format: "%.4f", $0.mpiGBps) }.joined(separator: ",")
            let ratios = rows.map { String(format: "%.4f", $0.ratio) }.joined(separator: ",")
            print("{\"benchmark\":\"allreduce\",\"ranks\":\(communicator.size),\"sizes_mb\":[\(sizes)],\"ours_gbps\":[\(ours)],"
                + "\"mpi_gbps\":[\(mpi)],\"ratios\":[\(ratios)],\"allreduce_vs_mpi_min\":\(String(format: "%.4f", minimum))}")
        }
    }

    private func measure(megabytes: Int) throws -> Row {
        let count = (megabytes << 20) / MemoryLayout<Float>.stride
        // About 2 GB per side, at least 10 repetitions: best-of needs a few undisturbed runs on a busy machine.
        let repetitions = max(10, min(100, 2048 / megabytes))
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
        defer { buffer.deallocate() }
        // Zeros stay zeros under repeated summing, so values never overflow to infinity.
        buffer.initialize(repeating: 0)
        var ours = Double.infinity
        var raw = Double.infinity
        let base = buffer.baseAddress!
        for repetition in 0...repetitions {
            let mpiTime = try communicator.withWorldCommunicator { world -> Double in
                try checkMPI(MPI_Barrier(world), "MPI_Barrier")
                let start = MPI_Wtime()
                try checkMPI(MPI_Allreduce(CMPI_inPlace(), base, Int32(count), CMPI_float(), CMPI_sum(), world), "MPI_Allreduce")
                return MPI_Wtime() - start
            }
            try communicator.barrier()
            let start = DispatchTime.now().uptimeNanoseconds
            try communicator.allReduce(buffer, .sum)
            let ourTime = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            // Repetition 0 warms up both paths (page faults, MPI buffers).
            if repetition > 0 {
                raw = min(raw, mpiTime)
                ours = min(ours, ourTime)
            }
        }
        // All ranks report the slowest rank's time, as a collective is only done when all are.
        raw = try communicator.allReduce(raw, .max)
        ours = try communicator.allReduce(ours, .max)
        return Row(megabytes: megabytes, repetitions: repetitions, oursSeconds: ours, mpiSeconds: raw)
    }
}
