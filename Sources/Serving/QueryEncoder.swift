import DataPipeline
import Dispatch
import Foundation
import Retrieval
import TensorCore

/// Turns texts and uploaded images into query embeddings with the serving model, batching queries that arrive
/// together: the first pending query opens a window of `batchWait`, closed early once `maxBatch` queries wait; then
/// the window's texts run as one forward pass and its images as another. The forward pass is not re-entrant, so
/// batches run one at a time on a serial queue, off the server's event loops.
final class QueryEncoder: @unchecked Sendable {
    enum Query {
        case text([Int32])
        case image([Float])
    }

    private struct Pending {
        var query: Query
        var continuation: CheckedContinuation<[Float], Never>
    }

    let model: EmbeddingModel
    let maxBatch: Int
    let batchWait: Double
    let metrics: ServiceMetrics
    private let transform: ImageTransform
    private let queue = DispatchQueue(label: "swiftclip.serve.encoder")
    private let condition = NSCondition()
    private var pending: [Pending] = []
    private var draining = false

    init(model: EmbeddingModel, maxBatch: Int, batchWait: Double, metrics: ServiceMetrics) {
        self.model = model
        self.maxBatch = max(1, maxBatch)
        self.batchWait = max(0, batchWait)
        self.metrics = metrics
        transform = ImageTransform(mode: .eval, size: model.imageSize)
    }

    var canEmbedText: Bool { model.textInput != nil }

    func embed(text: String) async throws -> [Float] {
        guard let input = model.textInput else {
            throw ServingError.badRequest("this model has no tokenizer: search by image_base64 or embedding")
        }
        return await submit(.text(input.tokenizer.encode(text, contextLength: input.contextLength)))
    }

    /// The embedding of PNG or JPEG bytes; anything else is 415.
    func embed(imageBytes: [UInt8]) async throws -> [Float] {
        let image: RGBImage
        do { image = try ImageDecoder.decode(imageBytes, name: "upload") } catch {
            throw ServingError(415, "the upload is not a readable PNG or JPEG image (\(error))")
        }
        var rng = SplitMix64(seed: 0)  // the evaluation transform draws nothing; the argument is its signature's
        return await submit(.image(transform.apply(image, rng: &rng)))
    }

    private func submit(_ query: Query) async -> [Float] {
        await withCheckedContinuation { continuation in
            condition.lock()
            pending.append(Pending(query: query, continuation: continuation))
            let startDrain = !draining
            draining = true
            condition.signal()
            condition.unlock()
            if startDrain { queue.async { self.drain() } }
        }
    }

    /// Runs batches until no query is pending, then lets the next submission start a new drain.
    private func drain() {
        while true {
            condition.lock()
            let deadline = Date(timeIntervalSinceNow: batchWait)
            while pending.count < maxBatch && condition.wait(until: deadline) {}
            let batch = Array(pending.prefix(maxBatch))
            pending.removeFirst(batch.count)
            if batch.isEmpty { draining = false }
            condition.unlock()
            if batch.isEmpty { return }
            run(batch)
        }
    }

    private func run(_ batch: [Pending]) {
        var texts: [(slot: Int, tokens: [Int32])] = []
        var images: [(slot: Int, pixels: [Float])] = []
        for (slot, item) in batch.enumerated() {
            switch item.query {
            case .text(let tokens): texts.append((slot, tokens))
            case .image(let pixels): images.append((slot, pixels))
            }
        }
        var outputs = [[Float]](repeating: [], count: batch.count)
        let dimension = model.dimension, size = model.imageSize
        withoutGradients {
            if !texts.isEmpty {
                let rows = model.embedTexts(texts.flatMap { $0.tokens }).values
                for (row, text) in texts.enumerated() { outputs[text.slot] = Array(rows[(row * dimension)..<((row + 1) * dimension)]) }
            }
            if !images.isEmpty {
                let rows = model.embedImages(Tensor(shape: [images.count, 3, size, size], values: images.flatMap { $0.pixels })).values
                for (row, image) in images.enumerated() { outputs[image.slot] = Array(rows[(row * dimension)..<((row + 1) * dimension)]) }
            }
        }
        metrics.recordEncoderBatch(queries: batch.count)
        for (slot, item) in batch.enumerated() { item.continuation.resume(returning: outputs[slot]) }
    }
}
