import Audio
import Foundation

/// On-disk layouts `writeSynthetic` can produce.
public enum SyntheticExportFormat: Sendable, Equatable {
    /// Tar shards `<prefix>-000000.tar`, ... with `<key>.png|jpg` + `<key>.txt` members.
    case webDataset(samplesPerShard: Int)
    /// `images/<key>.png|jpg` plus `<prefix>.csv` (tab-separated, columns `filepath`, `title`).
    case csv
    /// One subfolder per class (folder = class name with `_` for spaces), `classnames.txt`, `templates.txt`.
    case imageFolder
}

/// Image file encoding used by exports.
public enum ExportImageEncoding: Sendable, Equatable {
    case png
    case jpeg(quality: Int)

    var fileExtension: String { self == .png ? "png" : "jpg" }

    func encode(_ image: RGBImage) throws -> [UInt8] {
        switch self {
        case .png: return try PNGCodec.encode(image)
        case .jpeg(let quality): return try JPEGCodec.encode(image, quality: quality)
        }
    }
}

extension SyntheticShapes {
    /// Writes `count` samples of `split` (default: the whole split) under `directory` and returns the string to pass
    /// as training data: a brace pattern for shards, the CSV path, or the image-folder root. Shards `withAudio` also hold
    /// each sample's sound (`.wav`, see `sound(of:)`) and class (`.cls`).
    @discardableResult
    public func writeSynthetic(split: Split, to directory: String, format: SyntheticExportFormat,
                               encoding: ExportImageEncoding = .png, count: Int? = nil, prefix: String? = nil, withAudio: Bool = false) throws -> String {
        let n = count ?? self.count(split)
        let name = prefix ?? split.rawValue
        try makeDirectory(directory)
        func key(_ i: Int) -> String { String(format: "%08d", i) }
        switch format {
        case .webDataset(let perShard):
            guard perShard > 0 else { throw DataPipelineError.invalidOption("samplesPerShard must be positive") }
            let shardCount = max(1, (n + perShard - 1) / perShard)
            for s in 0..<shardCount {
                let writer = try TarWriter(path: directory + "/" + name + "-" + String(format: "%06d", s) + ".tar")
                for i in (s * perShard)..<min(n, (s + 1) * perShard) {
                    let sample = self.sample(split, index: i)
                    try writer.add(name: key(i) + "." + encoding.fileExtension, contents: try encoding.encode(sample.image))
                    try writer.add(name: key(i) + ".txt", contents: Array(sample.caption.utf8))
                    if withAudio {
                        try writer.add(name: key(i) + ".wav", contents: WAVEncoding.pcm16(Self.sound(of: sample, index: i), sampleRate: Self.soundRate))
                        try writer.add(name: key(i) + ".cls", contents: Array(String(sample.label).utf8))
                    }
                }
                try writer.finish()
            }
            return directory + "/" + name + "-{" + String(format: "%06d", 0) + ".." + String(format: "%06d", shardCount - 1) + "}.tar"
        case .csv:
            try makeDirectory(directory + "/images")
            var lines = ["filepath\ttitle"]
            for i in 0..<n {
                let sample = self.sample(split, index: i)
                let file = "images/" + key(i) + "." + encoding.fileExtension
                try writeWholeFile(directory + "/" + file, try encoding.encode(sample.image))
                lines.append(file + "\t" + sample.caption)
            }
            let path = directory + "/" + name + ".csv"
            try writeTextFile(path, lines.joined(separator: "\n") + "\n")
            return path
        case .imageFolder:
            let names = Self.classNames
            let folders = names.map { $0.replacingOccurrences(of: " ", with: "_") }
            for folder in folders { try makeDirectory(directory + "/" + folder) }
            for i in 0..<n {
                let sample = self.sample(split, index: i)
                try writeWholeFile(directory + "/" + folders[sample.label] + "/" + key(i) + "." + encoding.fileExtension,
                                   try encoding.encode(sample.image))
            }
            // Display names in sorted-folder order, as ZeroShotFolder expects.
            let sortedNames = zip(folders, names).sorted { $0.0 < $1.0 }.map(\.1)
            try writeTextFile(directory + "/classnames.txt", sortedNames.joined(separator: "\n") + "\n")
            try writeTextFile(directory + "/templates.txt", Self.templates.joined(separator: "\n") + "\n")
            return directory
        }
    }
}

extension SyntheticShapes {
    /// Sample rate of the generated sounds.
    public static let soundRate = 16000

    /// What a sample sounds like, so that audio-image pairs can be learned: a low tone naming its colour and a high one
    /// naming its shape, longer for larger shapes, with a little noise drawn from its index.
    public static func sound(of sample: Sample, index: Int) -> [Float] {
        let colourTone = 220 * Foundation.pow(2, Double(sample.colour) / 3), shapeTone = 1200 + 450 * Double(sample.shape)
        return SyntheticTone.chord([colourTone, shapeTone], seconds: 0.6 + 0.2 * Double(sample.size), sampleRate: soundRate,
                                   seed: UInt64(index))
    }
}
