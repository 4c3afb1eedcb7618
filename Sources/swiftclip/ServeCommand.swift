import ArgumentParser
import Dispatch
import Foundation
import Retrieval
import Serving
import Training

/// `swiftclip serve`: an HTTP search service over an index, embedding queries with the checkpoint's model.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve text, image and embedding search over an index (a search page at /, POST /search, GET /items/{id}/image, /healthz, /metrics).",
        discussion: "The index must have been built from this checkpoint's embeddings. Stops on SIGINT or SIGTERM. See docs/retrieval.md.")

    @Option(name: .long, help: "Checkpoint file, or a run's checkpoints/ folder (its newest checkpoint that verifies).") var checkpoint: String
    @Option(name: .long, help: "Index file (swiftclip index --output).") var index: String
    @Option(name: .long, help: "Embeddings folder with the captions and sources (default: the one the index records).") var embeddings: String?
    @Option(name: .long, help: "Bind address.") var host = "127.0.0.1"
    @Option(name: .long, help: "TCP port (0: any free port).") var port = 8080
    @Option(name: .long, help: "Text query embeddings kept in the LRU cache (0: none).") var cacheSize = 1024
    @Option(name: .long, help: "Largest request body in MiB.") var maxBodyMb = 8.0
    @Option(name: .long, help: "Largest k a search may ask for.") var maxK = 100
    @Option(name: .long, help: "Most queries the encoder embeds in one forward pass.") var maxBatch = 16
    @Option(name: .long, help: "Milliseconds the encoder waits after a query for others to join its batch.") var batchWaitMs = 2.0
    @Option(name: .long, help: "Seconds a connection may stay idle before the server closes it.") var idleTimeout = 30.0
    @Option(name: .long, help: "CLIP BPE merges file for 49,408-id models.") var merges: String?

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard cacheSize >= 0 else { throw ValidationError("--cache-size must not be negative") }
        guard maxBodyMb > 0 else { throw ValidationError("--max-body-mb must be positive") }
        guard idleTimeout > 0 else { throw ValidationError("--idle-timeout must be positive") }
        guard maxK >= 1 else { throw ValidationError("--max-k must be at least 1") }
        guard maxBatch >= 1 else { throw ValidationError("--max-batch must be at least 1") }
        guard (0...1_000).contains(batchWaitMs) else { throw ValidationError("--batch-wait-ms must be between 0 and 1000") }
    }

    func run() throws {
        try reportingErrors("serve") {
            let model = try loadEmbeddingModel(checkpoint: checkpoint, merges: merges, command: "serve")
            let searchIndex = try SearchIndex.load(index, model: model.identity)
            let catalog = try ItemCatalog(embeddings: embeddings ?? searchIndex.header.embeddings)
            let configuration = ServeConfiguration(host: host, port: port, cacheSize: cacheSize, maxBodyBytes: Int(maxBodyMb * 1_048_576), maxK: maxK,
                                                   maxBatch: maxBatch, batchWait: batchWaitMs / 1_000, idleTimeout: idleTimeout)
            let server = SearchServer(service: try SearchService(model: model, index: searchIndex, catalog: catalog, configuration: configuration))
            let header = searchIndex.header
            try Self.runToCompletion {
                try await server.run { port in
                    print("swiftclip serve: \(header.kind) index of \(header.count) items on http://\(host):\(port)")
                    fflush(stdout)
                }
            }
        }
    }

    /// Runs the server's async loop from this synchronous command and hands back how it ended.
    static func runToCompletion(_ body: @escaping @Sendable () async throws -> Void) throws {
        final class Outcome: @unchecked Sendable { var error: Error? }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Task {
            do { try await body() } catch { outcome.error = error }
            done.signal()
        }
        done.wait()
        if let error = outcome.error { throw error }
    }
}
