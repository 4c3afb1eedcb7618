import Distributed
import Foundation
import TensorCore

/// Times the trainer's gradient communication alone: `parameters` Float32 gradients averaged in buckets of
/// `bucketMegabytes` with `startAverage(wire:)` (all buckets started, then waited for, as with `--overlap-comm false`),
/// on whatever ranks and links mpirun gives it. No compute runs beside it, so on an unshaped link the time is the
/// CPU cost of communication (copies, reduction, bf16 rounding, the TCP stack) on the ranks' own cores, the term
/// `swiftclip plan --comm-cpu-ns-per-byte` takes (docs/scaling-model.md).
struct GradientCommBenchmark {
    let communicator: MPICommunicator
    let parameters: Int
    let bucketMegabytes: Double
    let wire: WirePrecision
    let repetitions: Int

    func run() throws {
        let bucketCount = max(1, Int(bucketMegabytes * 1024 * 1024) / MemoryLayout<Float>.stride)
        let gradients = UnsafeMutableBufferPointer<Float>.allocate(capacity: parameters)
        defer { gradients.deallocate() }
        // Small values that stay finite under repeated averaging.
        for i in 0..<parameters { gradients[i] = Float(i % 97) * 1e-3 }
        var times: [Double] = []
        for repetition in 0...repetitions {
            try communicator.barrier()
            let start = DispatchTime.now().uptimeNanoseconds
            var requests: [CollectiveRequest] = []
            var offset = 0
            while offset < parameters {
                let count = min(bucketCount, parameters - offset)
                requests.append(try communicator.startAverage(
                    UnsafeMutableBufferPointer(rebasing: gradients[offset..<(offset + count)]), wire: wire))
                offset += count
            }
            for request in requests { try request.wait() }
            var seconds = [Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9]
            // Done only when every rank is.
            try communicator.allReduce(&seconds, .max)
            if repetition > 0 { times.append(seconds[0]) }  // repetition 0 warms up buffers and connections
        }
        guard communicator.rank == 0 else { return }
        let typical = times.median, fastest = times.min() ?? 0
        let moved = RingTraffic.allReduceBytesSent(bytes: Double(parameters * wire.bytesPerElement), ranks: communicator.size)
        let nsPerByte = moved > 0 ? typical / moved * 1e9 : 0
        print("gradient communication: \(communicator.size) ranks, \(parameters) parameters in "
            + String(format: "%.1f MiB buckets, ", bucketMegabytes) + "\(wire.rawValue) on the wire: "
            + String(format: "median %.4f s, min %.4f s over %d; %.2f ns per byte sent per rank",
                     typical, fastest, times.count, nsPerByte))
        print("{\"benchmark\":\"gradient-comm\",\"ranks\":\(communicator.size),\"parameters\":\(parameters),"
            + "\"wire\":\"\(wire.rawValue)\","
            + String(format: "\"bucket_mib\":%.3f,\"median_seconds\":%.6f,\"min_seconds\":%.6f,\"ns_per_byte_sent\":%.4f}",
                     bucketMegabytes, typical, fastest, nsPerByte))
    }
}
