import CLIP
import Foundation
import TensorCore
import Text
import TrainingKit

/// A CLIP model as an `EmbeddingModel`: `encodeImage` and `encodeText`, normalised as OpenCLIP's `normalize=True`.
public final class CLIPEmbeddingModel: EmbeddingModel {
    public let model: CLIPModel
    public let identity: ModelIdentity
    public let textInput: (tokenizer: TextTokenizer, contextLength: Int)?

    public init(model: CLIPModel, identity: ModelIdentity, tokenizer: TextTokenizer?) {
        self.model = model
        self.identity = identity
        if let tokenizer { textInput = (tokenizer: tokenizer, contextLength: model.config.text.contextLength) } else { textInput = nil }
    }

    public var dimension: Int { model.config.embedDim }
    public var imageSize: Int { model.config.vision.imageSize }
    public func embedImages(_ images: Tensor) -> Tensor { model.encodeImage(images) }
    public func embedTexts(_ tokens: [Int32]) -> Tensor { model.encodeText(tokens) }

    /// The tokenizer the model was trained with: the one its checkpoint records, OpenCLIP's CLIP BPE for 49,408-id
    /// models, or the run folder's `tokenizer.json`; nil when none of these exists (captions are then not embedded).
    static func tokenizer(model: CLIPModel, attachment: String?, settings: Settings, runDirectory: String?) throws -> TextTokenizer? {
        if let attachment { return try TrainedBPETokenizer(jsonData: Data(attachment.utf8), source: "the checkpoint's tokenizer") }
        let vocabulary = model.config.text.vocabSize
        let trainedFile = runDirectory.map { $0 + "/tokenizer.json" }
        guard vocabulary == 49_408 || trainedFile.map { FileManager.default.fileExists(atPath: $0) } == true else { return nil }
        let setup = DataSetup(settings: settings, imageSize: model.config.vision.imageSize, contextLength: model.config.text.contextLength,
                              vocabularySize: vocabulary, runDirectory: runDirectory ?? ".")
        return try setup.tokenizer()
    }
}
