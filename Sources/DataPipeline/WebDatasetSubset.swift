import Foundation
import TensorCore

/// A seeded random subset of WebDataset samples written as new shards (`swiftclip data subset`), for low-data
/// experiments such as a student that sees a part of what its teacher saw. Every member file of a chosen sample is
/// copied byte for byte, so captions, labels and sample keys inside the shard stay as they were.
public enum WebDatasetSubset {
    public struct Summary: Sendable, CustomStringConvertible {
        public let written: Int, available: Int
        public let shards: [String]
        public var description: String {
            "wrote \(written) of \(available) samples to \(shards.count) shard(s): \(shards.joined(separator: ", "))"
        }
    }

    /// One sample of a source shard: its key and its member files.
    struct Sample { let shard: String; let key: String; let members: [TarEntry] }

    /// Chooses `count` samples of `shardSpec` uniformly without replacement from `seed`, keeps them in source order,
    /// and writes `PREFIX-000.tar`, `PREFIX-001.tar`, ... of at most `samplesPerShard` samples into `outputDirectory`
    /// (each written beside its final name and renamed when complete). A missing or damaged shard, a key that occurs
    /// twice, or a count beyond what the data holds is an error naming it.
    public static func write(shardSpec: String, count: Int, seed: UInt64, outputDirectory: String, prefix: String = "train",
                             samplesPerShard: Int = 1000) throws -> Summary {
        guard samplesPerShard > 0 else { throw DataPipelineError.invalidOption("samples per shard must be positive, got \(samplesPerShard)") }
        let samples = try readSamples(shardSpec)
        guard count > 0, count <= samples.count else {
            throw DataPipelineError.invalidOption("\(shardSpec) holds \(samples.count) samples; cannot choose \(count)")
        }
        let chosen = choose(count, of: samples.count, seed: seed)
        try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
        var written: [String] = []
        for (number, start) in stride(from: 0, to: chosen.count, by: samplesPerShard).enumerated() {
            let path = (outputDirectory as NSString).appendingPathComponent(String(format: "%@-%03d.tar", prefix, number))
            try writeShard(path, chosen[start..<min(start + samplesPerShard, chosen.count)].map { samples[$0] })
            written.append(path)
        }
        return Summary(written: count, available: samples.count, shards: written)
    }

    /// `count` distinct indices below `total`, sorted: the first `count` places of a seeded Fisher-Yates shuffle.
    static func choose(_ count: Int, of total: Int, seed: UInt64) -> [Int] {
        var generator = SplitMix64(mixing: seed, RandomStream.subset.rawValue)
        var indices = Array(0..<total)
        generator.shuffleFirst(count, of: &indices)
        return indices[..<count].sorted()
    }

    static func readSamples(_ shardSpec: String) throws -> [Sample] {
        var samples: [Sample] = []
        var shardOfKey: [String: String] = [:]
        for shard in try BraceExpansion.expandSources(shardSpec) {
            let scan = try TarReader.scan(path: shard)
            if let damage = scan.damage { throw DataPipelineError.malformedTar(path: shard, reason: damage) }
            var currentKey: String?
            var members: [TarEntry] = []
            func flush() throws {
                guard let key = currentKey else { return }
                if let earlier = shardOfKey.updateValue(shard, forKey: key) {
                    throw DataPipelineError.malformedSample(name: "\(shard):\(key)", reason: "the key also occurs in \(earlier); a subset needs distinct keys")
                }
                samples.append(Sample(shard: shard, key: key, members: members))
            }
            for entry in scan.entries {
                let key = ShardIndex.splitKey(entry.name).key
                if key != currentKey {
                    try flush()
                    currentKey = key
                    members = []
                }
                members.append(entry)
            }
            try flush()
        }
        return samples
    }

    static func writeShard(_ path: String, _ samples: [Sample]) throws {
        let partial = path + ".partial"
        let writer = try TarWriter(path: partial)
        var files: [String: RandomAccessFile] = [:]
        for sample in samples {
            let file = try files[sample.shard] ?? RandomAccessFile(path: sample.shard)
            files[sample.shard] = file
            for member in sample.members {
                try writer.add(name: member.name, contents: try file.readBytes(count: member.size, at: member.dataOffset))
            }
        }
        try writer.finish()
        guard rename(partial, path) == 0 else {
            throw DataPipelineError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
        }
    }
}
