import TrainingKit

extension HardNegativeMining {
    /// Queries scored per pass of the flat index: the score block stays `queryBlock × FlatIndex.blockRows` floats.
    static let queryBlock = 1024

    /// `--mode nearest`: for every sample of the `swiftclip embed` folder `directory` (the training data embedded with
    /// its captions by a CLIP trained on it), the `count` captions whose text embeddings score highest against the
    /// sample's image embedding, nearest first: the captions the model confuses with the right one.
    ///
    /// Captions and keys come from the folder's metadata (the rows the embeddings were computed from, so they cannot
    /// disagree with another read of the data). Candidates are distinct captions (the first row's embedding of each);
    /// the sample's own caption is never one, so samples sharing a caption are never each other's negatives. A key that
    /// appears twice keeps its first row.
    public static func nearest(embeddings directory: String, count: Int, output path: String) throws -> Summary {
        let negatives = try nearestCaptions(embeddings: directory, count: count)
        var summary = Summary()
        for entry in negatives { summary.add(negatives: entry.texts.count) }
        try HardNegativeCaptions.write(negatives, to: path)
        return summary
    }

    /// The nearest-caption negatives of every sample of the folder, in its row order.
    public static func nearestCaptions(embeddings directory: String, count: Int) throws -> [(key: String, texts: [String])] {
        guard count > 0 else { throw RetrievalError("\(directory): the number of negatives per sample (\(count)) must be positive") }
        let collection = try EmbeddingCollection(directory: directory, includeTexts: true)
        guard let texts = collection.texts else {
            throw RetrievalError("\(directory): has no caption embeddings (embed the training data with its captions)")
        }
        let dimension = collection.manifest.dimension
        let metadata = try EmbeddingMetadataRow.rows(of: directory, manifest: collection.manifest)
        var captions: [String] = [], firstRows: [Int] = [], captionOfRow: [Int] = [], idOfCaption: [String: Int] = [:]
        var row = 0
        for shard in collection.manifest.shards {
            for shardRow in 0..<shard.rows {
                guard let caption = metadata[row].caption else {
                    throw RetrievalError("\(directory)/\(EmbeddingShardFiles.metadataFile(shard.name)): row \(shardRow) has no caption")
                }
                if idOfCaption[caption] == nil {
                    idOfCaption[caption] = captions.count
                    captions.append(caption)
                    firstRows.append(row)
                }
                captionOfRow.append(idOfCaption[caption]!)
                row += 1
            }
        }
        // One candidate per distinct caption: its first row's text embedding.
        let index = FlatIndex(vectors: firstRows.flatMap { texts[($0 * dimension)..<(($0 + 1) * dimension)] }, dimension: dimension)
        var seenKeys = Set<String>(), result: [(key: String, texts: [String])] = []
        for first in stride(from: 0, to: metadata.count, by: queryBlock) {
            let rows = first..<min(first + queryBlock, metadata.count)
            let hits = index.search(queries: Array(collection.images[(rows.lowerBound * dimension)..<(rows.upperBound * dimension)]), k: count + 1)
            for (row, rowHits) in zip(rows, hits) where seenKeys.insert(metadata[row].key).inserted {
                let negatives = rowHits.lazy.filter { $0.id != captionOfRow[row] }.prefix(count).map { captions[$0.id] }
                result.append((metadata[row].key, Array(negatives)))
            }
        }
        return result
    }
}
