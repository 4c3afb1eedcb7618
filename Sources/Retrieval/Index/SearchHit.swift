/// One search result: the row id of a stored embedding (its global row in the embeddings folder) and its inner product
/// with the query (the cosine, as both are unit vectors).
public struct SearchHit: Equatable, Sendable, CustomStringConvertible {
    public var id: Int
    public var score: Float

    public init(id: Int, score: Float) {
        self.id = id
        self.score = score
    }

    /// The order of results: higher score first, then lower id, so ties never depend on the visiting order.
    func ranksBefore(_ other: SearchHit) -> Bool { score != other.score ? score > other.score : id < other.id }

    public var description: String { "(\(id), \(score))" }
}
