import Distributed
import Foundation
import TensorCore

/// The bandwidth MPI's all-reduce achieves between the ranks mpirun gives it, as a planner needs it and as clusters
/// measure it (nccl-tests' busbw): `repetitions` raw `MPI_Allreduce` calls of float32 buffers of `mebibytes` (the
/// trainer's gradient bucket), back to back after one barrier as gradient buckets follow each other, their mean time
/// converted to a bus bandwidth: the bytes each rank sends in a ring all-reduce, 2 (W − 1) / W of the buffer, per
/// second. That is the bandwidth per node and direction `swiftclip plan --bandwidth` takes (docs/scaling-model.md); on
/// slow or shaped links it can be far below the link's nominal rate.
struct AllReduceProbe {
    let communicator: MPICommunicator
    let mebibytes: Double
    let repetitions: Int

    func run() throws {
        let bytes = Int(mebibytes * 1024 * 1024)
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, bytes / MemoryLayout<Float>.stride))
        defer { buffer.deallocate() }
        // Zeros stay zeros under repeated summing.
        buffer.initialize(repeating: 0)
        _ = try communicator.timeRawAllReduce(buffer)  // opens connections and touches buffers
        try communicator.barrier()
        var times: [Double] = []
        for _ in 0..<repetitions { times.append(try communicator.timeRawAllReduce(buffer)) }
        // The calls are done only when every rank's are.
        var total = [times.reduce(0, +)]
        try communicator.allReduce(&total, .max)
        guard communicator.rank == 0 else { return }
        let size = Double(buffer.count * MemoryLayout<Float>.stride)
        let mean = total[0] / Double(repetitions), middle = times.median, fastest = times.min() ?? 0
        let busBandwidth = RingTraffic.allReduceBytesSent(bytes: size, ranks: communicator.size) / mean
        print(String(format: "MPI_Allreduce of %.1f MiB (float32 sum) over %d ranks, %d back to back: mean %.5f s (rank 0: median %.5f, "
                     + "min %.5f); algorithm bandwidth %.4f GB/s, bus bandwidth %.4f GB/s per node and direction "
                     + "(swiftclip plan --bandwidth %.4f)",
                     mebibytes, communicator.size, repetitions, mean, middle, fastest, size / mean / 1e9, busBandwidth / 1e9,
                     busBandwidth / 1e9))
        print(String(format: "{\"benchmark\":\"probe-allreduce\",\"ranks\":%d,\"mib\":%.3f,\"repetitions\":%d,\"mean_seconds\":%.6f,"
                     + "\"median_seconds\":%.6f,\"min_seconds\":%.6f,\"algbw_gbps\":%.6f,\"bus_gbps\":%.6f}",
                     communicator.size, mebibytes, repetitions, mean, middle, fastest, size / mean / 1e9, busBandwidth / 1e9))
    }
}
