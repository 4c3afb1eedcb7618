import Foundation
import Retrieval

/// The service behind the HTTP routes, free of HTTP: validates a search request, embeds its query (text through the
/// LRU cache), searches the index and names each hit's caption and image URL.
public final class SearchService: @unchecked Sendable {
    public let index: SearchIndex
    public let catalog: ItemCatalog
    public let configuration: ServeConfiguration
    public let metrics = ServiceMetrics()
    let encoder: QueryEncoder
    private let cacheLock = NSLock()
    private var textCache: LRUCache<String, [Float]>

    /// The index must hold the model's embeddings (check with `SearchIndex.load(path, model:)`) and the catalog one
    /// row per indexed vector.
    public init(model: EmbeddingModel, index: SearchIndex, catalog: ItemCatalog, configuration: ServeConfiguration) throws {
        guard model.dimension == index.header.dimension else {
            throw RetrievalError("the index holds dimension \(index.header.dimension) but the model embeds \(model.dimension)")
        }
        guard catalog.count == index.header.count else {
            throw RetrievalError("\(index.header.embeddings): \(catalog.count) metadata rows for an index of \(index.header.count) vectors")
        }
        self.index = index
        self.catalog = catalog
        self.configuration = configuration
        encoder = QueryEncoder(model: model, maxBatch: configuration.maxBatch, batchWait: configuration.batchWait, metrics: metrics)
        textCache = LRUCache(capacity: configuration.cacheSize)
    }

    /// Decodes and answers a `POST /search` body.
    public func search(body: Data) async throws -> SearchResponse {
        let request: SearchRequest
        do { request = try JSONDecoder().decode(SearchRequest.self, from: body) } catch {
            throw ServingError.badRequest("malformed JSON: expected {\"text\"|\"image_base64\"|\"embedding\": ..., \"k\": N}")
        }
        return try await search(request)
    }

    /// Answers a `multipart/form-data` upload: a file part (`image`, or any part with a file name), optional `k`
    /// and `text` fields.
    public func search(multipart body: Data, boundary: String) async throws -> SearchResponse {
        let form = try MultipartForm(body: [UInt8](body), boundary: boundary)
        var request = SearchRequest()
        if let image = form.part(named: "image") ?? form.parts.first(where: { $0.filename != nil }) {
            guard !image.body.isEmpty else { throw ServingError.badRequest("empty query: the uploaded file is empty") }
            request.imageBytes = image.body
        }
        if let text = form.part(named: "text") { request.text = String(decoding: text.body, as: UTF8.self) }
        if let k = form.part(named: "k") {
            let value = String(decoding: k.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let number = Int(value) else { throw ServingError.badRequest("k must be an integer, got \"\(value.prefix(20))\"") }
            request.k = number
        }
        return try await search(request)
    }

    public func search(_ request: SearchRequest) async throws -> SearchResponse {
        let start = DispatchTime.now().uptimeNanoseconds
        let k = request.k ?? 10
        guard (1...configuration.maxK).contains(k) else { throw ServingError.badRequest("k must be between 1 and \(configuration.maxK), got \(k)") }
        let given = [request.text != nil, request.imageBase64 != nil, request.embedding != nil, request.imageBytes != nil].filter { $0 }.count
        guard given == 1 else { throw ServingError.badRequest("give exactly one of text, image_base64 (or an uploaded image) and embedding") }
        let (query, cached) = try await queryEmbedding(request)
        let hits = index.search(query: query, k: k)
        let results = hits.map { SearchResult(id: $0.id, score: $0.score, caption: catalog.caption($0.id), imageURL: "/items/\($0.id)/image") }
        let took = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        return SearchResponse(results: results, cached: cached, tookMilliseconds: took)
    }

    /// The query vector and whether it came from the text cache.
    func queryEmbedding(_ request: SearchRequest) async throws -> ([Float], Bool) {
        if let text = request.text {
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { throw ServingError.badRequest("empty query: text has no characters") }
            if let hit = cachedText(trimmed) {
                metrics.recordCache(hit: true)
                return (hit, true)
            }
            metrics.recordCache(hit: false)
            let vector = try await encoder.embed(text: trimmed)
            cacheLock.withLock { textCache.insert(vector, for: trimmed) }
            return (vector, false)
        }
        if let encoded = request.imageBase64 {
            guard !encoded.isEmpty else { throw ServingError.badRequest("empty query: image_base64 is empty") }
            guard let bytes = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters) else {
                throw ServingError.badRequest("image_base64 is not base64")
            }
            return (try await encoder.embed(imageBytes: [UInt8](bytes)), false)
        }
        if let bytes = request.imageBytes { return (try await encoder.embed(imageBytes: bytes), false) }
        let vector = request.embedding ?? []
        guard vector.count == index.header.dimension else {
            throw ServingError.badRequest("embedding has \(vector.count) values; the index holds dimension \(index.header.dimension)")
        }
        return (vector, false)
    }

    private func cachedText(_ text: String) -> [Float]? { cacheLock.withLock { textCache.value(for: text) } }

    /// The image bytes of row `id` and their media type.
    public func image(id: Int) throws -> (bytes: Data, contentType: String) {
        guard (0..<catalog.count).contains(id) else { throw ServingError.notFound("no item \(id) (the index holds ids 0..<\(catalog.count))") }
        guard let file = catalog.imageFile(id), let bytes = FileManager.default.contents(atPath: file) else {
            throw ServingError.notFound("item \(id) has no readable image file (source \(catalog.rows[id].source))")
        }
        let type = bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) ? "image/png" : bytes.starts(with: [0xFF, 0xD8]) ? "image/jpeg" : "image/webp"
        return (bytes, type)
    }
}
