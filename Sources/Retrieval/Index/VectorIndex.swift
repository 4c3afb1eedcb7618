/// Inner-product search over unit vectors: what `swiftclip index` builds and the server queries.
public protocol VectorIndex: AnyObject {
    /// Stored vectors.
    var count: Int { get }
    var dimension: Int { get }
    /// For each of the `queries.count / dimension` queries (row-major), its `k` best hits, best first.
    func search(queries: [Float], k: Int) -> [[SearchHit]]
}

extension VectorIndex {
    /// The `k` best hits of one query, best first.
    public func search(query: [Float], k: Int) -> [SearchHit] { search(queries: query, k: k)[0] }
}
