import Checkpoint
import Foundation
import TensorCore

/// A large embeddings folder for load tests of the index and the server: a real collection's rows (so image and text
/// queries through the real model, and item images, still work) followed by synthetic rows up to `rows`.
///
/// Synthetic image vectors are drawn around `clusters` random directions (unit(centre + spread·g), g ~ N(0, I/d)),
/// because real embeddings cluster and an IVF index is only worth measuring on clustered data; each row's caption
/// embedding is its image vector perturbed again, so captions are near-duplicate but not identical queries.
public struct SyntheticCollection {
    public var rows: Int
    public var clusters: Int
    public var spread: Float = 0.6
    public var captionSpread: Float = 0.3
    public var shardRows = 50_000
    public var seed: UInt64 = 7

    public init(rows: Int, clusters: Int) {
        self.rows = rows
        self.clusters = max(1, clusters)
    }

    /// Writes the real folder `base`'s shards (re-encoded as f32, same model identity) then synthetic shards into `output`.
    public func write(extending base: String, to output: String) throws {
        let real = try EmbeddingCollection(directory: base, includeTexts: true)
        let metadata = try EmbeddingMetadataRow.readAll(directory: base)
        let dimension = real.manifest.dimension
        let model = real.manifest.model
        guard rows >= real.manifest.rows else { throw RetrievalError("--rows \(rows) is below the \(real.manifest.rows) rows of \(base)") }
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let texts = real.texts ?? real.images
        var records: [EmbeddingShardRecord] = []
        func shard(_ name: String, _ images: [Float], _ texts: [Float], _ rows: [EmbeddingMetadataRow]) throws {
            let files = EmbeddingShardFiles(directory: output, name: name)
            try files.write(images: NumpyMatrix(rows: rows.count, columns: dimension, dtype: .f32, values: images),
                            texts: NumpyMatrix(rows: rows.count, columns: dimension, dtype: .f32, values: texts),
                            metadata: rows, origin: name, model: model, skipped: 0)
            records.append(try files.readRecord())
        }
        try shard("real-000000", real.images, texts, metadata)

        var rng = SplitMix64(seed: seed)
        let centres = (0..<clusters).flatMap { _ in Self.unit((0..<dimension).map { _ in rng.nextNormal() }) }
        let scale = 1 / Float(dimension).squareRoot()
        var made = real.manifest.rows, index = 0
        while made < rows {
            let count = min(shardRows, rows - made)
            var images: [Float] = [], captions: [Float] = [], rowsMeta: [EmbeddingMetadataRow] = []
            images.reserveCapacity(count * dimension)
            captions.reserveCapacity(count * dimension)
            for row in 0..<count {
                let cluster = Int(rng.next() % UInt64(clusters))
                let image = Self.unit((0..<dimension).map { centres[cluster * dimension + $0] + spread * scale * rng.nextNormal() })
                images += image
                captions += Self.unit(image.map { $0 + captionSpread * scale * rng.nextNormal() })
                rowsMeta.append(EmbeddingMetadataRow(key: "synthetic-\(made + row)", caption: "synthetic item \(made + row) of cluster \(cluster)",
                                                     source: "synthetic"))
            }
            try shard(String(format: "synthetic-%06d", index), images, captions, rowsMeta)
            made += count
            index += 1
        }
        let manifest = EmbeddingManifest(model: model, dtype: .f32, dimension: dimension, records: records)
        try manifest.write(directory: output)
    }

    static func unit(_ vector: [Float]) -> [Float] {
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? vector.map { $0 / norm } : vector
    }
}
