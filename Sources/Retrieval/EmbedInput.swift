import DataPipeline
import Foundation

/// One output shard's worth of input: a WebDataset shard, or a fixed-size chunk of a CSV file or an image folder.
struct EmbedUnit {
    /// Output file stem: `NAME.img.npy`, `NAME.txt.npy`, `NAME.aud.npy`, `NAME.meta.jsonl`, `NAME.shard.json`.
    let name: String
    /// The input file it reads (shard, CSV file or folder), recorded in the outputs.
    let origin: String
    /// The samples, with captions when the input has them.
    let open: () throws -> SampleSource
    /// Each row's source path from its sample key.
    let sourcePath: (String) -> String
}

/// What `swiftclip embed --data` names: WebDataset shards (brace patterns, `::`-joined), a CSV/TSV file (or several), or
/// an image folder in the zero-shot layout (one subfolder per class; the class name is the caption).
public struct EmbedInput {
    public var data: String
    /// Samples per output shard for CSV files and image folders (WebDataset shards are kept whole).
    public var chunkSize: Int
    public var csvImageKey: String
    public var csvCaptionKey: String
    public var csvSeparator: String
    /// Whether WebDataset shards' recordings (`.wav`/`.flac`) are read too, for a model with a bound audio tower; shards
    /// may then hold recordings without images.
    public var readsAudio = false

    public init(data: String, chunkSize: Int = 10_000, csvImageKey: String = "filepath", csvCaptionKey: String = "title",
                csvSeparator: String = "\t") {
        self.data = data
        self.chunkSize = chunkSize
        self.csvImageKey = csvImageKey
        self.csvCaptionKey = csvCaptionKey
        self.csvSeparator = csvSeparator
    }

    enum Kind { case webDataset, csv, folder }

    var kind: Kind {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: data, isDirectory: &isDirectory), isDirectory.boolValue { return .folder }
        let first = (data.components(separatedBy: "::").first ?? data).lowercased()
        return first.hasSuffix(".csv") || first.hasSuffix(".tsv") ? .csv : .webDataset
    }

    /// Every unit in a fixed order, the same on every rank.
    func units() throws -> [EmbedUnit] {
        guard chunkSize > 0 else { throw RetrievalError("--chunk-size must be positive, got \(chunkSize)") }
        let units: [EmbedUnit]
        switch kind {
        case .webDataset:
            units = try BraceExpansion.expandSources(data).map { shard in
                EmbedUnit(name: Self.stem(shard), origin: shard, open: { [readsAudio] in try Self.openShard(shard, audio: readsAudio) },
                          sourcePath: { _ in shard })
            }
        case .csv:
            units = try BraceExpansion.expandSources(data).flatMap { file in
                let table = try Self.withCaptionsIfPresent { fields in
                    try CSVSource(csvSpec: file, fields: fields, columns: [.image: csvImageKey, .text: csvCaptionKey], separator: csvSeparator)
                }
                return chunks(of: table, stem: Self.stem(file), origin: file) { _ in file }
            }
        case .folder:
            let folder = try ZeroShotFolder(root: data)
            units = chunks(of: folder, stem: Self.stem(data), origin: data) { $0 }
        }
        guard !units.isEmpty else { throw RetrievalError("\(data): no input shards") }
        var seen: [String: String] = [:]
        for unit in units {
            if let other = seen[unit.name] {
                throw RetrievalError("\(unit.origin) and \(other) would both write \(unit.name).*: rename one of them")
            }
            seen[unit.name] = unit.origin
        }
        return units
    }

    func chunks(of source: SampleSource, stem: String, origin: String, sourcePath: @escaping (String) -> String) -> [EmbedUnit] {
        let count = (try? source.sampleCount()) ?? 0
        return stride(from: 0, to: count, by: chunkSize).enumerated().map { index, start in
            let range = start..<min(start + chunkSize, count)
            return EmbedUnit(name: stem + "-" + String(format: "%06d", index), origin: origin,
                             open: { SampleRangeSource(base: source, range: range) }, sourcePath: sourcePath)
        }
    }

    /// A shard after checking that it exists and is an undamaged tar archive: an index silently missing the samples after
    /// a damaged byte would be worse than stopping. With `audio`, images are optional but a shard needs images or recordings.
    static func openShard(_ path: String, audio: Bool = false) throws -> SampleSource {
        let scan = try TarReader.scan(path: path)
        if let damage = scan.damage { throw RetrievalError("\(path): corrupt shard: \(damage)") }
        let nothingToEmbed = RetrievalError("\(path): no images (.png/.jpg) and no recordings (.wav/.flac) to embed")
        let source: SampleSource
        do {
            source = try withFieldsIfPresent(audio ? [.image, .text, .audio] : [.text], required: audio ? [] : [.image]) { fields in
                let source = try WebDatasetSource(shardSpec: path, fields: fields)
                _ = try source.sampleCount()  // indexes the shard, throwing when a field is absent from all of it
                return source
            }
        } catch DataPipelineError.fieldNotInDataset where audio {
            throw nothingToEmbed
        }
        if audio && !source.fields.contains(.image) && !source.fields.contains(.audio) { throw nothingToEmbed }
        return source
    }

    /// The source opened with image and caption, or with the image alone when the input has no captions at all.
    static func withCaptionsIfPresent(_ open: ([SampleField]) throws -> SampleSource) throws -> SampleSource {
        try withFieldsIfPresent([.text], open)
    }

    /// The source opened with `required` and those of `optional` the input has at all.
    static func withFieldsIfPresent(_ optional: [SampleField], required: [SampleField] = [.image],
                                    _ open: ([SampleField]) throws -> SampleSource) throws -> SampleSource {
        var fields = required + optional
        while true {
            do { return try open(fields) } catch let error as DataPipelineError {
                guard case .fieldNotInDataset(_, let field, _) = error, let index = fields.firstIndex(where: { $0.name == field }),
                      index >= required.count, fields.count > 1 else {
                    throw error
                }
                fields.remove(at: index)
            }
        }
    }

    /// A file or folder name without its folder and extension (`/data/shard-000003.tar` → `shard-000003`).
    static func stem(_ path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.pathExtension.isEmpty ? url.lastPathComponent : url.deletingPathExtension().lastPathComponent
    }
}
