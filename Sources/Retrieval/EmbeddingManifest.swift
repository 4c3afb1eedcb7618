import Checkpoint
import Foundation

/// `manifest.json` of an embeddings folder: the model, the storage type, and the shards in row order (the global row
/// number of an embedding is its shard's offset in this list plus its row in the shard).
public struct EmbeddingManifest: Codable, Equatable, Sendable {
    public struct Shard: Codable, Equatable, Sendable {
        public var name: String
        public var origin: String
        public var rows: Int
        public var text: Bool
    }

    public static let fileName = "manifest.json"

    public var formatVersion = 1
    public var model: ModelIdentity
    public var dtype: EmbeddingDType
    public var dimension: Int
    public var rows: Int
    public var shards: [Shard]

    enum CodingKeys: String, CodingKey {
        case model, dtype, dimension, rows, shards
        case formatVersion = "format_version"
    }

    init(model: ModelIdentity, dtype: EmbeddingDType, dimension: Int, records: [EmbeddingShardRecord]) {
        self.model = model
        self.dtype = dtype
        self.dimension = dimension
        rows = records.reduce(0) { $0 + $1.rows }
        shards = records.map { Shard(name: $0.name, origin: $0.origin, rows: $0.rows, text: $0.hasText) }
    }

    /// Writes `manifest.json` into `directory` atomically.
    func write(directory: String) throws {
        try DurableFile.write(try EmbeddingShardFiles.encoder.encode(self) + Data("\n".utf8), to: directory + "/" + Self.fileName)
    }

    /// The manifest of the embeddings folder `directory`; an error names the file.
    public static func read(directory: String) throws -> EmbeddingManifest {
        let path = directory + "/" + fileName
        guard let data = FileManager.default.contents(atPath: path) else { throw RetrievalError("\(path): missing (not an embeddings folder, or embed did not finish)") }
        do { return try JSONDecoder().decode(EmbeddingManifest.self, from: data) } catch {
            throw RetrievalError("\(path): not an embeddings manifest (\(error))")
        }
    }
}
