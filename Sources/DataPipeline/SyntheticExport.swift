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
    /// as training data: a brace pattern for shards, the CSV path, or the image-folder root.
    @discardableResult
    public func writeSynthetic(split: Split, to directory: String, format: SyntheticExportFormat,
                               encoding: ExportImageEncoding = .png, count: Int? = nil, prefix: String? = nil) throws -> String {
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
