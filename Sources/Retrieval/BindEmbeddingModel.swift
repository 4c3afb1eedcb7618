import Bind
import DataPipeline
import Foundation
import TensorCore
import Text
import TrainingKit

/// A bound model (`--task bind`) as an `EmbeddingModel`: images and captions through the CLIP towers it was bound to,
/// and its audio into the same image space.
public final class BindEmbeddingModel: EmbeddingModel {
    public let model: BindModel
    public let identity: ModelIdentity
    public let textInput: (tokenizer: TextTokenizer, contextLength: Int)?
    public let audioInput: AudioTransform?

    /// `audio`: how recordings are featurised (`BindTask.evaluationAudio`), its shape always the audio tower's.
    public init(model: BindModel, identity: ModelIdentity, tokenizer: TextTokenizer?, audio: AudioTransform) {
        self.model = model
        self.identity = identity
        textInput = tokenizer.map { (tokenizer: $0, contextLength: model.config.text.contextLength) }
        var audio = audio
        (audio.melBins, audio.frames) = (model.config.audio.melBins, model.config.audio.frames)
        audioInput = audio
    }

    public var dimension: Int { model.config.embedDim }
    public var imageSize: Int { model.config.vision.imageSize }
    public func embedImages(_ images: Tensor) -> Tensor { model.encodeImage(images) }
    public func embedTexts(_ tokens: [Int32]) -> Tensor { model.encodeText(tokens) }
    public func embedAudio(_ spectrograms: Tensor) -> Tensor { model.encodeAudio(spectrograms) }

    /// The bound CLIP's tokenizer: the trained one the checkpoint records, or CLIP's BPE for a 49,408-id text tower;
    /// nil otherwise (captions are then not embedded).
    static func tokenizer(model: BindModel, attachment: String?, settings: Settings) throws -> TextTokenizer? {
        if let attachment { return try TrainedBPETokenizer(jsonData: Data(attachment.utf8), source: "the checkpoint's tokenizer") }
        guard model.config.text.vocabSize == 49_408 else { return nil }
        return try DataSetup(settings: settings, imageSize: model.config.vision.imageSize, contextLength: model.config.text.contextLength,
                             vocabularySize: model.config.text.vocabSize, runDirectory: ".").tokenizer()
    }
}
