import CLIP
import DataPipeline
import Distributed
import Foundation
import Retrieval
import Serving
import TensorCore
import Text
import XCTest
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A served index: synthetic images in the image-folder layout, embedded by a seeded clip-tiny, indexed flat, and
/// a `SearchServer` on 127.0.0.1 at a free port, stopped by `stop()`.
final class ServingFixture {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    let scratch = NSTemporaryDirectory() + "serving-tests-" + UUID().uuidString
    let model: CLIPEmbeddingModel
    let index: SearchIndex
    let catalog: ItemCatalog
    let service: SearchService
    private(set) var port = 0
    private var serverTask: Task<Void, Error>?

    init(configuration: ServeConfiguration = ServeConfiguration(port: 0)) async throws {
        let config = try CLIPConfig.load(Self.repository + "/cluster-configs/models/clip-tiny.json")
        let captions = (0..<100).map { (try? SyntheticShapes().source(.train).load(id: $0).caption) ?? "" }
        let tokenizer = try BPETrainer.train(corpus: captions, vocabularySize: config.text.vocabSize)
        let identity = ModelIdentity(family: "clip", configHash: "00112233445566ff", step: 2, parametersHash: "ffeeddccbbaa9988")
        model = CLIPEmbeddingModel(model: CLIPModel(config: config, seed: 5), identity: identity, tokenizer: tokenizer)

        let images = scratch + "/images", embeddings = scratch + "/embeddings"
        _ = try SyntheticShapes(imageSize: 32).writeSynthetic(split: .val, to: images, format: .imageFolder, count: 24)
        _ = try EmbedJob(input: EmbedInput(data: images), output: embeddings, batchSize: 8, workers: 0)
            .run(model: model, communicator: LocalCommunicator()) { _ in }
        try IndexBuilder(kind: .flat).build(embeddings: embeddings).write(to: scratch + "/items.index")
        index = try SearchIndex.load(scratch + "/items.index", model: identity)
        catalog = try ItemCatalog(embeddings: embeddings)
        service = try SearchService(model: model, index: index, catalog: catalog, configuration: configuration)
        try await start()
    }

    private func start() async throws {
        final class BoundPort: @unchecked Sendable {
            let lock = NSLock()
            var value = 0
        }
        let bound = BoundPort()
        let server = SearchServer(service: service)
        serverTask = Task { try await server.run(stopOnSignals: false) { port in bound.lock.withLock { bound.value = port } } }
        for _ in 0..<500 {
            port = bound.lock.withLock { bound.value }
            if port != 0 { return }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        throw ServingError(500, "the server did not start within 10 s")
    }

    func stop() {
        serverTask?.cancel()
        try? FileManager.default.removeItem(atPath: scratch)
    }

    struct Reply {
        var status: Int
        var contentType: String
        var body: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    }

    /// One request to the server; a body makes it a POST.
    func request(_ path: String, body: Data? = nil, contentType: String = "application/json") async throws -> Reply {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!, timeoutInterval: 30)
        if let body {
            request.httpMethod = "POST"
            request.httpBody = body
            request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        }
        return try await withCheckedThrowingContinuation { continuation in
            URLSession.shared.dataTask(with: request) { data, response, error in
                if let error { return continuation.resume(throwing: error) }
                let http = response as! HTTPURLResponse
                continuation.resume(returning: Reply(status: http.statusCode, contentType: http.value(forHTTPHeaderField: "Content-Type") ?? "",
                                                     body: data ?? Data()))
            }.resume()
        }
    }

    func search(_ fields: [String: Any]) async throws -> Reply {
        try await request("/search", body: try JSONSerialization.data(withJSONObject: fields))
    }

    /// `POST /search` as `multipart/form-data` with these (name, file name, bytes) parts.
    func upload(_ parts: [(name: String, filename: String?, bytes: Data)]) async throws -> Reply {
        let boundary = "swiftclip-test-\(UUID().uuidString)"
        var body = Data()
        for part in parts {
            body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(part.name)\"".utf8))
            if let filename = part.filename { body.append(Data("; filename=\"\(filename)\"\r\nContent-Type: application/octet-stream".utf8)) }
            body.append(Data("\r\n\r\n".utf8) + part.bytes + Data("\r\n".utf8))
        }
        body.append(Data("--\(boundary)--\r\n".utf8))
        return try await request("/search", body: body, contentType: "multipart/form-data; boundary=\(boundary)")
    }

    /// The ids and scores of a search reply, to compare with `SearchIndex.search`.
    static func hits(_ reply: Reply) throws -> [SearchHit] {
        let response = try JSONDecoder().decode(SearchResponse.self, from: reply.body)
        return response.results.map { SearchHit(id: $0.id, score: $0.score) }
    }
}
