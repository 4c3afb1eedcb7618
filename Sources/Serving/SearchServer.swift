import Foundation
import Hummingbird

/// The HTTP front of a `SearchService` on Hummingbird: the search page at `/`, `POST /search` (JSON or a
/// multipart upload), `GET /items/{id}/image`, `GET /healthz`, `GET /metrics`.
public struct SearchServer {
    public let service: SearchService

    public init(service: SearchService) { self.service = service }

    func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let service = self.service
        let limit = service.configuration.maxBodyBytes
        router.add(middleware: JSONErrorMiddleware(metrics: service.metrics))
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: SearchPage.html)))
        }
        router.get("healthz") { _, _ in
            Self.json(Data("{\"status\":\"ok\",\"items\":\(service.index.header.count)}\n".utf8))
        }
        router.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: service.metrics.prometheusText())))
        }
        router.post("search") { request, _ in
            var request = request
            let body: ByteBuffer
            do { body = try await request.collectBody(upTo: limit) } catch {
                throw ServingError(413, "request body larger than \(limit) bytes (--max-body-mb)")
            }
            let bytes = Data(body.readableBytesView)
            let response: SearchResponse
            if let boundary = MultipartForm.boundary(contentType: request.headers[.contentType] ?? "") {
                response = try await service.search(multipart: bytes, boundary: boundary)
            } else {
                response = try await service.search(body: bytes)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]  // the same answer is the same bytes
            return Self.json(try encoder.encode(response))
        }
        router.get("items/:id/image") { _, context in
            guard let text = context.parameters.get("id"), let id = Int(text) else { throw ServingError.badRequest("item id must be an integer") }
            let image = try service.image(id: id)
            return Response(status: .ok, headers: [.contentType: image.contentType], body: .init(byteBuffer: ByteBuffer(bytes: image.bytes)))
        }
        return router
    }

    static func json(_ data: Data) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Serves until the task is cancelled or, when `stopOnSignals` is true, until SIGTERM or SIGINT; `onRunning` gets the
    /// bound port (the chosen one when the configuration asks for port 0).
    public func run(stopOnSignals: Bool = true, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let configuration = service.configuration
        let application = Application(
            router: router(),
            server: .http1(configuration: .init(idleTimeout: .milliseconds(Int64(configuration.idleTimeout * 1_000)))),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "swiftclip-serve"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? configuration.port) })
        if stopOnSignals { try await application.runService() } else { try await application.run() }
    }
}
