import Foundation

/// Measures compression and throughput of the checkpoint format on a caller-supplied set of tensors.
public enum CheckpointBenchmark {
    /// Saves and loads `tensors` in a scratch folder under the system temporary directory and reports:
    /// `compression_ratio` (raw / stored bytes with the default shuffle4 + zstd), `plain_zstd_ratio` (same
    /// level without the filter), `save_mb_per_s` (raw MB, 10^6 bytes, per second of a full durable save
    /// incl. fsync) and `load_mb_per_s` (raw MB per second of a verified load, file in page cache).
    public static func run(tensors: [CheckpointTensor], options: CheckpointWriteOptions = .init()) throws -> [String: Double] {
        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("swiftclip-checkpoint-bench-\(hex(UInt64.random(in: 0...UInt64.max)))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }

        var plainOptions = options
        plainOptions.filter = .none
        let plain = try CheckpointFile.write(tensors, step: 0, metadataValue: .null,
                                             to: scratch.appendingPathComponent("plain.sclip"), options: plainOptions)

        let target = scratch.appendingPathComponent("shuffled.sclip")
        let saveStart = DispatchTime.now()
        let shuffled = try CheckpointFile.write(tensors, step: 0, metadataValue: .null, to: target, options: options)
        let saveSeconds = seconds(since: saveStart)

        let loadStart = DispatchTime.now()
        let loaded = try CheckpointFile.read(at: target)
        let loadSeconds = seconds(since: loadStart)
        guard loaded.tensors.count == tensors.count,
              zip(loaded.tensors, tensors).allSatisfy({ $0.isBitwiseEqual(to: $1) }) else {
            throw CheckpointError.corrupt(path: target.path, detail: "benchmark round trip changed tensor values")
        }

        let megabytes = Double(shuffled.rawBytes) / 1e6
        return [
            "compression_ratio": shuffled.compressionRatio,
            "plain_zstd_ratio": plain.compressionRatio,
            "save_mb_per_s": megabytes / max(saveSeconds, 1e-9),
            "load_mb_per_s": megabytes / max(loadSeconds, 1e-9),
        ]
    }

    private static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}
