import Checkpoint
import Foundation

/// One row of `NAME.meta.jsonl`: which sample an embedding row is.
public struct EmbeddingMetadataRow: Codable, Equatable, Sendable {
    /// The sample's key (`shard.tar:key`, a CSV row's image cell, an image path).
    public var key: String
    /// Its caption, absent when the input has none.
    public var caption: String?
    /// The file it was read from: the WebDataset shard, the CSV file, or the image file of an image folder.
    public var source: String

    public init(key: String, caption: String?, source: String) {
        self.key = key
        self.caption = caption
        self.source = source
    }
}

extension EmbeddingMetadataRow {
    /// Every row's metadata of the embeddings folder `directory` in manifest order (row id = position); an error names
    /// the file that is missing or unreadable.
    public static func rows(of directory: String, manifest: EmbeddingManifest) throws -> [EmbeddingMetadataRow] {
        var rows: [EmbeddingMetadataRow] = []
        rows.reserveCapacity(manifest.rows)
        let decoder = JSONDecoder()
        for shard in manifest.shards {
            let path = directory + "/" + EmbeddingShardFiles.metadataFile(shard.name)
            guard let data = FileManager.default.contents(atPath: path) else { throw RetrievalError("\(path): missing") }
            var lines = data.split(separator: 0x0A, omittingEmptySubsequences: true).makeIterator()
            for row in 0..<shard.rows {
                guard let line = lines.next(), let entry = try? decoder.decode(EmbeddingMetadataRow.self, from: Data(line)) else {
                    throw RetrievalError("\(path): row \(row) missing or not a metadata row")
                }
                rows.append(entry)
            }
        }
        return rows
    }
}

/// `NAME.shard.json`, written after the shard's other files: that it exists and their checksums match means the shard is
/// complete, so a restarted `embed` skips it.
public struct EmbeddingShardRecord: Codable, Equatable, Sendable {
    public var name: String
    public var origin: String
    public var rows: Int
    public var dimension: Int
    public var dtype: EmbeddingDType
    public var model: ModelIdentity
    /// Samples of the input dropped as unreadable.
    public var skipped: Int
    /// XXH3 of each file of the shard, by file name.
    public var files: [String: String]

    public var hasImages: Bool { files[EmbeddingShardFiles.imageFile(name)] != nil }
    public var hasText: Bool { files[EmbeddingShardFiles.textFile(name)] != nil }
    public var hasAudio: Bool { files[EmbeddingShardFiles.audioFile(name)] != nil }
}

/// The files of one embedded shard in an output folder, and how they are written and verified.
public struct EmbeddingShardFiles {
    public let directory: String
    public let name: String

    public init(directory: String, name: String) {
        self.directory = directory
        self.name = name
    }

    static func imageFile(_ name: String) -> String { name + ".img.npy" }
    static func textFile(_ name: String) -> String { name + ".txt.npy" }
    static func audioFile(_ name: String) -> String { name + ".aud.npy" }
    static func metadataFile(_ name: String) -> String { name + ".meta.jsonl" }
    static func recordFile(_ name: String) -> String { name + ".shard.json" }

    func path(_ file: String) -> String { directory + "/" + file }

    /// Writes the embeddings (at least one kind) and metadata, each atomically, then the record that marks the shard complete.
    func write(images: NumpyMatrix?, texts: NumpyMatrix?, audio: NumpyMatrix? = nil, metadata: [EmbeddingMetadataRow], origin: String,
               model: ModelIdentity, skipped: Int) throws {
        guard let first = images ?? texts ?? audio else { throw RetrievalError("\(directory)/\(name): no embeddings to write") }
        var contents: [(String, Data)] = []
        for (file, matrix) in [(Self.imageFile(name), images), (Self.textFile(name), texts), (Self.audioFile(name), audio)] {
            if let matrix {
                contents.append((file, matrix.encoded()))
            } else if FileManager.default.fileExists(atPath: path(file)) {
                try FileManager.default.removeItem(atPath: path(file))  // an earlier model's
            }
        }
        contents.append((Self.metadataFile(name), try Self.jsonLines(metadata)))
        var checksums: [String: String] = [:]
        for (file, data) in contents {
            try DurableFile.write(data, to: path(file))
            checksums[file] = ContentChecksum.hex(of: data)
        }
        let record = EmbeddingShardRecord(name: name, origin: origin, rows: first.rows, dimension: first.columns, dtype: first.dtype,
                                          model: model, skipped: skipped, files: checksums)
        try DurableFile.write(try Self.encoder.encode(record) + Data("\n".utf8), to: path(Self.recordFile(name)))
    }

    /// The shard's record when every file it lists exists with its checksum and it was written by `model` as `dtype`;
    /// nil when the shard is incomplete, damaged or another model's (it is then embedded again).
    func verifiedRecord(model: ModelIdentity, dtype: EmbeddingDType) -> EmbeddingShardRecord? {
        guard let record = try? readRecord(), record.model == model, record.dtype == dtype, record.name == name else { return nil }
        for (file, checksum) in record.files {
            guard let data = FileManager.default.contents(atPath: path(file)), ContentChecksum.hex(of: data) == checksum else { return nil }
        }
        return record
    }

    /// The record as written; an error names the file.
    public func readRecord() throws -> EmbeddingShardRecord {
        let file = path(Self.recordFile(name))
        guard let data = FileManager.default.contents(atPath: file) else { throw RetrievalError("\(file): missing (the shard was not embedded)") }
        do { return try JSONDecoder().decode(EmbeddingShardRecord.self, from: data) } catch {
            throw RetrievalError("\(file): not a shard record (\(error))")
        }
    }

    /// A file of the shard after checking it against the record's checksum; an error names the file.
    public func verifiedContents(_ file: String, record: EmbeddingShardRecord) throws -> Data {
        let full = path(file)
        guard let data = FileManager.default.contents(atPath: full) else { throw RetrievalError("\(full): missing") }
        guard let expected = record.files[file], ContentChecksum.hex(of: data) == expected else {
            throw RetrievalError("\(full): checksum does not match \(Self.recordFile(name)) (damaged or rewritten)")
        }
        return data
    }

    /// Key-sorted JSON without escaped slashes, so the same content always gives the same bytes.
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static func jsonLines(_ rows: [EmbeddingMetadataRow]) throws -> Data {
        let encoder = Self.encoder
        var data = Data()
        for row in rows {
            data.append(try encoder.encode(row))
            data.append(0x0A)
        }
        return data
    }
}
