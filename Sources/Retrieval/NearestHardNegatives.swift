import TrainingKit

extension HardNegativeMining {
    /// Queries scored per pass of the flat index: the score block stays `queryBlock × FlatIndex.blockRows` floats.
    static let queryBlock = 1024

    /// What `--mode nearest` mines for each sample.
    public enum NearestKind: String, CaseIterable, Sendable {
        /// The captions nearest the sample's image (extra image→text columns).
        case texts
        /// The other samples whose images are nearest the sample's caption (extra text→image columns).
        case images
        /// Both, on one line per sample.
        case both
    }

    /// `--mode nearest`: for every sample of the `swiftclip embed` folder `directory` (the training data embedded with
    /// its captions by a CLIP trained on it), its `count` nearest negatives of `kind`, nearest first: the captions or
    /// images the model confuses with the right one (`nearestCaptions`, `nearestImages`).
    public static func nearest(embeddings directory: String, count: Int, kind: NearestKind = .texts, output path: String) throws -> Summary {
        // Both lists are in the folder's order of first rows per key, so they pair up line by line.
        let texts = kind == .images ? nil : try nearestCaptions(embeddings: directory, count: count)
        let images = kind == .texts ? nil : try nearestImages(embeddings: directory, count: count)
        let keys = texts?.map(\.key) ?? images!.map(\.key)
        let entries = keys.indices.map { HardNegativeFile.Entry(key: keys[$0], texts: texts?[$0].texts, images: images?[$0].images) }
        var summary = Summary()
        for entry in entries { summary.add(negatives: (entry.texts ?? []).count + (entry.images ?? []).count) }
        try HardNegativeFile.write(entries, to: path)
        return summary
    }

    /// The rows of an embeddings folder with caption embeddings: keys and captions from its metadata (the rows the
    /// embeddings were computed from, so they cannot disagree with another read of the data), and both matrices.
    struct CaptionedRows {
        let dimension: Int
        let keys: [String], captions: [String]
        let images: [Float], texts: [Float]

        init(_ directory: String, count: Int) throws {
            guard count > 0 else { throw RetrievalError("\(directory): the number of negatives per sample (\(count)) must be positive") }
            let collection = try EmbeddingCollection(directory: directory, includeTexts: true)
            guard let texts = collection.texts else {
                throw RetrievalError("\(directory): has no caption embeddings (embed the training data with its captions)")
            }
            let metadata = try EmbeddingMetadataRow.rows(of: directory, manifest: collection.manifest)
            var captions: [String] = [], row = 0
            for shard in collection.manifest.shards {
                for shardRow in 0..<shard.rows {
                    guard let caption = metadata[row].caption else {
                        throw RetrievalError("\(directory)/\(EmbeddingShardFiles.metadataFile(shard.name)): row \(shardRow) has no caption")
                    }
                    captions.append(caption)
                    row += 1
                }
            }
            (dimension, keys, self.captions, images, self.texts) = (collection.manifest.dimension, metadata.map(\.key), captions, collection.images, texts)
        }

        func vectors(_ matrix: [Float], rows: [Int]) -> [Float] { rows.flatMap { matrix[($0 * dimension)..<(($0 + 1) * dimension)] } }

        /// The first row of each key, in row order (a key that appears twice keeps its first row).
        var firstRowOfEachKey: [Int] {
            var seen = Set<String>()
            return keys.indices.filter { seen.insert(keys[$0]).inserted }
        }

        /// For each of `queryRows`, the ids of `index`'s best hits that `keep` accepts, at most `count`, best first.
        func search(_ index: FlatIndex, queries matrix: [Float], queryRows: [Int], count: Int, extra: Int,
                    keep: (_ query: Int, _ hit: Int) -> Bool) -> [[Int]] {
            var result: [[Int]] = []
            for first in stride(from: 0, to: queryRows.count, by: queryBlock) {
                let block = Array(queryRows[first..<min(first + queryBlock, queryRows.count)])
                let hits = index.search(queries: vectors(matrix, rows: block), k: count + extra)
                for (query, rowHits) in zip(block, hits) { result.append(Array(rowHits.map(\.id).filter { keep(query, $0) }.prefix(count))) }
            }
            return result
        }
    }

    /// The nearest-caption negatives of every sample of the folder, in its row order: the `count` captions whose text
    /// embeddings score highest against the sample's image embedding. Candidates are distinct captions (the first row's
    /// embedding of each); the sample's own caption is never one, so samples sharing a caption are never each other's
    /// negatives. The search is the flat index's exact inner-product top-k.
    public static func nearestCaptions(embeddings directory: String, count: Int) throws -> [(key: String, texts: [String])] {
        let rows = try CaptionedRows(directory, count: count)
        var captions: [String] = [], firstRows: [Int] = [], idOfCaption: [String: Int] = [:]
        for (row, caption) in rows.captions.enumerated() where idOfCaption[caption] == nil {
            idOfCaption[caption] = captions.count
            captions.append(caption)
            firstRows.append(row)
        }
        let index = FlatIndex(vectors: rows.vectors(rows.texts, rows: firstRows), dimension: rows.dimension)
        let queries = rows.firstRowOfEachKey
        let hits = rows.search(index, queries: rows.images, queryRows: queries, count: count, extra: 1) { query, hit in
            hit != idOfCaption[rows.captions[query]]!
        }
        return zip(queries, hits).map { (rows.keys[$0], $1.map { captions[$0] }) }
    }

    /// The nearest-image negatives of every sample of the folder, in its row order: the keys of the `count` other samples
    /// whose image embeddings score highest against the sample's caption embedding. Never the sample itself, nor a sample
    /// with the same caption (its image is a true match of the caption).
    public static func nearestImages(embeddings directory: String, count: Int) throws -> [(key: String, images: [String])] {
        let rows = try CaptionedRows(directory, count: count)
        let candidates = rows.firstRowOfEachKey
        var sharing: [String: Int] = [:]
        for row in candidates { sharing[rows.captions[row], default: 0] += 1 }
        let index = FlatIndex(vectors: rows.vectors(rows.images, rows: candidates), dimension: rows.dimension)
        let hits = rows.search(index, queries: rows.texts, queryRows: candidates, count: count, extra: sharing.values.max() ?? 1) { query, hit in
            rows.captions[candidates[hit]] != rows.captions[query]
        }
        return zip(candidates, hits).map { (rows.keys[$0], $1.map { rows.keys[candidates[$0]] }) }
    }
}
