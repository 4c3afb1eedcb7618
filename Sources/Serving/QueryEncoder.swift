import DataPipeline
import Dispatch
import Foundation
import Retrieval
import TensorCore

/// Turns a text or an uploaded image into a query embedding with the serving model. The model's forward pass is not
/// safe to run concurrently, so every call goes through one serial queue, off the server's event loops.
final class QueryEncoder: @unchecked Sendable {
    let model: EmbeddingModel
    private let queue = DispatchQueue(label: "swiftclip.serve.encoder")
    private let transform: ImageTransform

    init(model: EmbeddingModel) {
        self.model = model
        transform = ImageTransform(mode: .eval, size: model.imageSize)
    }

    var canEmbedText: Bool { model.textInput != nil }

    func embed(text: String) async throws -> [Float] {
        guard let input = model.textInput else {
            throw ServingError.badRequest("this model has no tokenizer: search by image_base64 or embedding")
        }
        return await onQueue { [model] in model.embedTexts(input.tokenizer.encode(text, contextLength: input.contextLength)).values }
    }

    /// The embedding of PNG or JPEG bytes; anything else is 415.
    func embed(imageBytes: [UInt8]) async throws -> [Float] {
        let image: RGBImage
        do { image = try ImageDecoder.decode(imageBytes, name: "upload") } catch {
            throw ServingError(415, "image_base64 is not a readable PNG or JPEG image (\(error))")
        }
        var rng = SplitMix64(seed: 0)  // the evaluation transform draws nothing; the argument is its signature's
        let pixels = transform.apply(image, rng: &rng)
        let size = model.imageSize
        return await onQueue { [model] in model.embedImages(Tensor(shape: [1, 3, size, size], values: pixels)).values }
    }

    private func onQueue(_ work: @escaping @Sendable () -> [Float]) async -> [Float] {
        await withCheckedContinuation { continuation in queue.async { continuation.resume(returning: work()) } }
    }
}
