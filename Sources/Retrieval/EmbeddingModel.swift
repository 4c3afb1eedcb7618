import DataPipeline
import TensorCore
import Text

/// What the retrieval tools need of a trained model: images (and texts, when it has a tokenizer) into one
/// L2-normalised embedding space. `EmbeddingModels.model(for:)` wraps a loaded model of any family that has one.
public protocol EmbeddingModel: AnyObject {
    var identity: ModelIdentity { get }
    /// Width of an embedding.
    var dimension: Int { get }
    /// Side of the square images the image tower reads.
    var imageSize: Int { get }
    /// How captions become token rows; nil when the model has no text tower or no tokenizer is known (images only).
    var textInput: (tokenizer: TextTokenizer, contextLength: Int)? { get }
    /// L2-normalised embeddings [B, dimension] of images [B, 3, imageSize, imageSize] (the evaluation transform's pixels).
    func embedImages(_ images: Tensor) -> Tensor
    /// L2-normalised embeddings [B, dimension] of B token rows.
    func embedTexts(_ tokens: [Int32]) -> Tensor
    /// How recordings become the input of a bound audio tower (a bind checkpoint's: its spectrogram size and the run's
    /// sample rate, mean and std), embedding audio into the image space; nil for models without one.
    var audioInput: AudioTransform? { get }
    /// L2-normalised embeddings [B, dimension] of normalised log-mel spectrograms [B, 1, melBins, frames].
    func embedAudio(_ spectrograms: Tensor) -> Tensor
}

extension EmbeddingModel {
    public var audioInput: AudioTransform? { nil }
    public func embedAudio(_ spectrograms: Tensor) -> Tensor { preconditionFailure("\(identity.family): this model has no audio tower") }
}
