import TensorCore

/// Approximate search (FAISS's IVF-flat): vectors grouped into the lists of their nearest k-means centroid; a query scores
/// the centroids, then only the vectors of its `nprobe` best lists, exactly.
public final class IVFIndex: VectorIndex {
    public let dimension: Int
    /// `lists × dimension` unit centroids.
    let centroids: [Float]
    /// List l holds stored rows `listOffsets[l] ..< listOffsets[l + 1]`.
    let listOffsets: [Int]
    /// The row id of each stored row.
    let ids: [Int]
    /// Stored rows, grouped by list.
    let vectors: [Float]
    /// Lists scanned per query (more: higher recall, slower).
    public var nprobe: Int

    init(dimension: Int, centroids: [Float], listOffsets: [Int], ids: [Int], vectors: [Float], nprobe: Int) {
        self.dimension = dimension
        self.centroids = centroids
        self.listOffsets = listOffsets
        self.ids = ids
        self.vectors = vectors
        self.nprobe = nprobe
    }

    /// Trains `lists` centroids on `vectors` (row i is id i) and files every vector under its nearest one.
    public convenience init(vectors: [Float], dimension: Int, lists: Int, nprobe: Int = 1, seed: UInt64 = 0) {
        let count = vectors.count / dimension
        precondition(count > 0 && vectors.count % dimension == 0, "IVFIndex: \(vectors.count) values are not rows of \(dimension)")
        let kmeans = SphericalKMeans(dimension: dimension, clusters: max(1, min(lists, count)), seed: seed)
        let centroids = kmeans.train(vectors, count: count)
        let assignment = kmeans.assign(vectors, count: count, to: centroids)
        var offsets = [Int](repeating: 0, count: kmeans.clusters + 1)
        for list in assignment { offsets[list + 1] += 1 }
        for l in 0..<kmeans.clusters { offsets[l + 1] += offsets[l] }
        var cursor = offsets, ids = [Int](repeating: 0, count: count), grouped = [Float](repeating: 0, count: vectors.count)
        for (row, list) in assignment.enumerated() {
            let slot = cursor[list]
            cursor[list] += 1
            ids[slot] = row
            grouped.replaceSubrange((slot * dimension)..<((slot + 1) * dimension), with: vectors[(row * dimension)..<((row + 1) * dimension)])
        }
        self.init(dimension: dimension, centroids: centroids, listOffsets: offsets, ids: ids, vectors: grouped, nprobe: nprobe)
    }

    public var count: Int { ids.count }
    public var lists: Int { listOffsets.count - 1 }

    public func search(queries: [Float], k: Int) -> [[SearchHit]] {
        let queryCount = queries.count / dimension
        var probes = [TopHits](repeating: TopHits(k: min(max(nprobe, 1), lists)), count: queryCount)
        centroids.withUnsafeBufferPointer { c in
            FlatIndex.scoreBlocks(queries: queries, rows: c.baseAddress!, rowCount: lists, dimension: dimension) { first, n, scores in
                for q in 0..<queryCount { probes[q].offer(scores: scores + q * n, ids: { first + $0 }, count: n) }
            }
        }
        var scores = [Float](repeating: 0, count: (listOffsets.indices.dropFirst().map { listOffsets[$0] - listOffsets[$0 - 1] }.max() ?? 0))
        return (0..<queryCount).map { q in
            var top = TopHits(k: min(k, count))
            queries.withUnsafeBufferPointer { query in
                vectors.withUnsafeBufferPointer { stored in
                    scores.withUnsafeMutableBufferPointer { s in
                        for probe in probes[q].hits {
                            let start = listOffsets[probe.id], n = listOffsets[probe.id + 1] - start
                            guard n > 0 else { continue }
                            BLAS.gemm(transposeA: false, transposeB: true, m: 1, n: n, k: dimension, a: query.baseAddress! + q * dimension,
                                      lda: dimension, b: stored.baseAddress! + start * dimension, ldb: dimension, c: s.baseAddress!, ldc: n)
                            top.offer(scores: s.baseAddress!, ids: { self.ids[start + $0] }, count: n)
                        }
                    }
                }
            }
            return top.hits
        }
    }
}
