import Distributed
import Foundation
import TensorCore

/// The bandwidth MPI's gradient collectives achieve between the ranks mpirun gives it, as a planner needs it and as
/// clusters measure it (nccl-tests' busbw): `repetitions` raw MPI calls on one gradient bucket of `mebibytes` of
/// float32 (train's --bucket-mb), back to back after one barrier as gradient buckets follow each other, their mean
/// time converted to a bus bandwidth: the bytes each rank sends, over the time. `wire` picks the trainer's pattern:
/// fp32, one `MPI_Allreduce` of the bucket; bf16, the bfloat16 averaging's `MPI_Alltoallv` and `MPI_Allgatherv` of half
/// the bytes. Each rank sends 2 (W − 1) / W of the wire buffer in both (`RingTraffic`), so the two figures compare
/// directly; they are `swiftclip plan --bandwidth` and `--bf16-bandwidth` (docs/scaling-model.md). On slow or shaped
/// links they can be far below the link's nominal rate, and differ from each other.
struct AllReduceProbe {
    let communicator: MPICommunicator
    let mebibytes: Double
    let repetitions: Int
    let wire: WirePrecision

    func run() throws {
        let elements = max(1, Int(mebibytes * 1024 * 1024) / MemoryLayout<Float>.stride)
        // Zeros stay zeros under repeated summing.
        let floats = UnsafeMutableBufferPointer<Float>.allocate(capacity: wire == .fp32 ? elements : 1)
        let halves = UnsafeMutableBufferPointer<UInt16>.allocate(capacity: wire == .bf16 ? elements : 1)
        let received = UnsafeMutableBufferPointer<UInt16>.allocate(capacity: wire == .bf16 ? elements + communicator.size : 1)
        defer { floats.deallocate(); halves.deallocate(); received.deallocate() }
        floats.initialize(repeating: 0); halves.initialize(repeating: 0); received.initialize(repeating: 0)
        func once() throws -> Double {
            wire == .fp32 ? try communicator.timeRawAllReduce(floats) : try communicator.timeRawBFloat16Average(halves, received: received)
        }
        _ = try once()  // opens connections and touches buffers
        try communicator.barrier()
        var times: [Double] = []
        for _ in 0..<repetitions { times.append(try once()) }
        // The calls are done only when every rank's are.
        var total = [times.reduce(0, +)]
        try communicator.allReduce(&total, .max)
        guard communicator.rank == 0 else { return }
        let size = Double(elements * wire.bytesPerElement)
        let mean = total[0] / Double(repetitions), middle = times.median, fastest = times.min() ?? 0
        let sent = wire == .fp32 ? RingTraffic.allReduceBytesSent(bytes: size, ranks: communicator.size)
                                 : RingTraffic.bfloat16AverageBytesSent(bytes: size, ranks: communicator.size)
        let busBandwidth = sent / mean
        let pattern = wire == .fp32 ? "MPI_Allreduce (float32 sum)" : "MPI_Alltoallv + MPI_Allgatherv (bfloat16)"
        print(String(format: "%@ of a %.1f MiB float32 bucket (%.1f MiB on the wire) over %d ranks, %d back to back: mean %.5f s "
                     + "(rank 0: median %.5f, min %.5f); algorithm bandwidth %.4f GB/s, bus bandwidth %.4f GB/s per node and direction "
                     + "(swiftclip plan %@ %.4f)",
                     pattern, mebibytes, size / 1048576, communicator.size, repetitions, mean, middle, fastest, size / mean / 1e9,
                     busBandwidth / 1e9, wire == .fp32 ? "--bandwidth" : "--bf16-bandwidth", busBandwidth / 1e9))
        print(String(format: "{\"benchmark\":\"probe-allreduce\",\"wire\":\"%@\",\"ranks\":%d,\"mib\":%.3f,\"repetitions\":%d,\"mean_seconds\":%.6f,"
                     + "\"median_seconds\":%.6f,\"min_seconds\":%.6f,\"algbw_gbps\":%.6f,\"bus_gbps\":%.6f}",
                     wire.rawValue, communicator.size, mebibytes, repetitions, mean, middle, fastest, size / mean / 1e9, busBandwidth / 1e9))
    }
}
