/// The body of `POST /search`: exactly one of `text`, `image_base64` or `embedding`, and `k`; a multipart upload
/// fills `imageBytes` instead of `image_base64`.
public struct SearchRequest: Codable, Equatable, Sendable {
    public var text: String?
    public var imageBase64: String?
    public var embedding: [Float]?
    public var k: Int?
    public var imageBytes: [UInt8]? = nil

    public init(text: String? = nil, imageBase64: String? = nil, embedding: [Float]? = nil, k: Int? = nil, imageBytes: [UInt8]? = nil) {
        self.text = text
        self.imageBase64 = imageBase64
        self.embedding = embedding
        self.k = k
        self.imageBytes = imageBytes
    }

    enum CodingKeys: String, CodingKey {
        case text, embedding, k
        case imageBase64 = "image_base64"
    }
}

/// One hit of a search: the row id in the index, its score (cosine), caption and where to fetch its image.
public struct SearchResult: Codable, Equatable, Sendable {
    public var id: Int
    public var score: Float
    public var caption: String?
    public var imageURL: String

    enum CodingKeys: String, CodingKey {
        case id, score, caption
        case imageURL = "image_url"
    }
}

/// The answer of `POST /search`; `cached` tells whether a text query's embedding came from the cache.
public struct SearchResponse: Codable, Equatable, Sendable {
    public var results: [SearchResult]
    public var cached: Bool
    public var tookMilliseconds: Double

    enum CodingKeys: String, CodingKey {
        case results, cached
        case tookMilliseconds = "took_ms"
    }
}
