import TensorCore

/// Exact search: every stored vector scored against the queries by BLAS, a block of rows at a time so the score matrix
/// stays small whatever the collection's size.
public final class FlatIndex: VectorIndex {
    public let dimension: Int
    /// `count × dimension`, row-major; row i is id i.
    public let vectors: [Float]
    /// Stored rows scored per matrix product.
    static let blockRows = 8192

    public init(vectors: [Float], dimension: Int) {
        precondition(dimension > 0 && vectors.count % dimension == 0, "FlatIndex: \(vectors.count) values are not rows of \(dimension)")
        self.vectors = vectors
        self.dimension = dimension
    }

    public var count: Int { vectors.count / dimension }

    public func search(queries: [Float], k: Int) -> [[SearchHit]] {
        let queryCount = queries.count / dimension
        var top = [TopHits](repeating: TopHits(k: min(k, count)), count: queryCount)
        vectors.withUnsafeBufferPointer { stored in
            Self.scoreBlocks(queries: queries, rows: stored.baseAddress!, rowCount: count, dimension: dimension) { first, rows, scores in
                for q in 0..<queryCount { top[q].offer(scores: scores + q * rows, ids: { first + $0 }, count: rows) }
            }
        }
        return top.map(\.hits)
    }

    /// Scores `queries` against `rowCount` rows in blocks, handing each block's `queries × rows` scores (row-major) to `visit`
    /// with the block's first row and size.
    static func scoreBlocks(queries: [Float], rows: UnsafePointer<Float>, rowCount: Int, dimension: Int,
                            visit: (_ first: Int, _ rows: Int, _ scores: UnsafePointer<Float>) -> Void) {
        let queryCount = queries.count / dimension
        guard queryCount > 0, rowCount > 0 else { return }
        var scores = [Float](repeating: 0, count: queryCount * min(blockRows, rowCount))
        queries.withUnsafeBufferPointer { q in
            scores.withUnsafeMutableBufferPointer { s in
                for first in stride(from: 0, to: rowCount, by: blockRows) {
                    let n = min(blockRows, rowCount - first)
                    BLAS.gemm(transposeA: false, transposeB: true, m: queryCount, n: n, k: dimension, a: q.baseAddress!, lda: dimension,
                              b: rows + first * dimension, ldb: dimension, c: s.baseAddress!, ldc: n)
                    visit(first, n, s.baseAddress!)
                }
            }
        }
    }
}
