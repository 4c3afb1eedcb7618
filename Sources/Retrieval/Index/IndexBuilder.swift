import Foundation

/// `swiftclip index`: an exact or approximate index of an embeddings folder's image embeddings, chosen by size as
/// autofaiss does, with the approximate index's recall@10 against exact search measured on sample queries.
public struct IndexBuilder {
    public enum Kind: String, CaseIterable, Sendable {
        /// Flat below `flatThreshold` vectors, approximate from there.
        case auto
        case flat
        /// IVF-flat.
        case approx
    }

    public var kind: Kind
    /// Collections smaller than this get the exact index under `auto`.
    public var flatThreshold: Int
    /// IVF lists; nil: about 4·√n, FAISS's usual starting point.
    public var lists: Int?
    /// nprobe grows (doubling) until recall@10 on the sample queries reaches this, or every list is probed.
    public var targetRecall: Double
    /// Sample queries for the recall measurement.
    public var sampleQueries: Int
    public var seed: UInt64

    public init(kind: Kind = .auto, flatThreshold: Int = 50_000, lists: Int? = nil, targetRecall: Double = 0.95, sampleQueries: Int = 200,
                seed: UInt64 = 0) {
        self.kind = kind
        self.flatThreshold = flatThreshold
        self.lists = lists
        self.targetRecall = targetRecall
        self.sampleQueries = sampleQueries
        self.seed = seed
    }

    /// The index of the embeddings folder `directory`.
    public func build(embeddings directory: String) throws -> SearchIndex {
        let collection = try EmbeddingCollection(directory: directory, includeTexts: true)
        let manifest = collection.manifest
        guard manifest.rows > 0 else { throw RetrievalError("\(directory): no embeddings to index") }
        var header = SearchIndex.Header(kind: "flat", model: manifest.model, dimension: manifest.dimension, count: manifest.rows,
                                        embeddings: URL(fileURLWithPath: directory).standardizedFileURL.path)
        let flat = FlatIndex(vectors: collection.images, dimension: manifest.dimension)
        guard kind == .approx || (kind == .auto && manifest.rows >= flatThreshold) else { return SearchIndex(header: header, index: flat) }
        let listCount = lists ?? max(1, Int((4 * Double(manifest.rows).squareRoot()).rounded()))
        let ivf = IVFIndex(vectors: collection.images, dimension: manifest.dimension, lists: listCount, seed: seed)
        // Captions are what users search with, so their embeddings are the sample queries when there are any.
        let queries = sample(collection.texts ?? collection.images, dimension: manifest.dimension)
        let exact = flat.search(queries: queries, k: 10)
        var recall = 0.0
        ivf.nprobe = 1
        while true {
            recall = Self.recall(ivf.search(queries: queries, k: 10), exact: exact)
            if recall >= targetRecall || ivf.nprobe >= ivf.lists { break }
            ivf.nprobe = min(2 * ivf.nprobe, ivf.lists)
        }
        header.kind = "ivf"
        header.lists = ivf.lists
        header.nprobe = ivf.nprobe
        header.recallAt10 = recall
        return SearchIndex(header: header, index: ivf)
    }

    /// Up to `sampleQueries` rows of `vectors`, evenly spaced.
    func sample(_ vectors: [Float], dimension: Int) -> [Float] {
        let rows = vectors.count / dimension, n = min(sampleQueries, rows)
        return (0..<n).flatMap { i -> ArraySlice<Float> in
            let row = i * rows / n
            return vectors[(row * dimension)..<((row + 1) * dimension)]
        }
    }

    /// Mean over queries of the share of the exact top 10 that the approximate top 10 found.
    static func recall(_ approximate: [[SearchHit]], exact: [[SearchHit]]) -> Double {
        guard !exact.isEmpty else { return 1 }
        let found = zip(approximate, exact).map { a, e in Double(Set(a.map(\.id)).intersection(e.map(\.id)).count) / Double(max(e.count, 1)) }
        return found.reduce(0, +) / Double(found.count)
    }
}
