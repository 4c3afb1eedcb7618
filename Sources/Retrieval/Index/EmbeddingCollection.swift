import Foundation

/// An embeddings folder read back: every image embedding in row order as float32 (and the caption embeddings, whose
/// rows line up, when every shard has them), each file checked against its shard record.
public struct EmbeddingCollection {
    public let directory: String
    public let manifest: EmbeddingManifest
    /// `manifest.rows × manifest.dimension`, row-major.
    public let images: [Float]
    public let texts: [Float]?

    public init(directory: String, includeTexts: Bool = false) throws {
        self.directory = directory
        let manifest = try EmbeddingManifest.read(directory: directory)
        self.manifest = manifest
        var images: [Float] = [], texts: [Float]? = includeTexts && manifest.shards.allSatisfy(\.text) ? [] : nil
        images.reserveCapacity(manifest.rows * manifest.dimension)
        for shard in manifest.shards {
            let files = EmbeddingShardFiles(directory: directory, name: shard.name)
            let record = try files.readRecord()
            guard record.model == manifest.model else {
                throw RetrievalError("\(files.path(EmbeddingShardFiles.recordFile(shard.name))): embedded by \(record.model), but the manifest's model is \(manifest.model)")
            }
            guard record.hasImages else {
                throw RetrievalError("\(files.path(EmbeddingShardFiles.recordFile(shard.name))): no image embeddings (its input had none), which an index needs")
            }
            images += try Self.matrix(files, EmbeddingShardFiles.imageFile(shard.name), record: record, manifest: manifest)
            if texts != nil { texts! += try Self.matrix(files, EmbeddingShardFiles.textFile(shard.name), record: record, manifest: manifest) }
        }
        guard images.count == manifest.rows * manifest.dimension else {
            throw RetrievalError("\(directory)/\(EmbeddingManifest.fileName): lists \(manifest.rows) rows, the shards hold \(images.count / max(manifest.dimension, 1))")
        }
        self.images = images
        self.texts = texts
    }

    static func matrix(_ files: EmbeddingShardFiles, _ file: String, record: EmbeddingShardRecord, manifest: EmbeddingManifest) throws -> [Float] {
        let matrix = try NumpyMatrix(decoding: try files.verifiedContents(file, record: record), name: files.path(file))
        guard matrix.columns == manifest.dimension, matrix.rows == record.rows else {
            throw RetrievalError("\(files.path(file)): shape (\(matrix.rows), \(matrix.columns)), expected (\(record.rows), \(manifest.dimension))")
        }
        return matrix.values
    }
}
