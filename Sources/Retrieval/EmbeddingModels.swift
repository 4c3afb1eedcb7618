import Bind
import CLIP
import TrainingKit

/// Wraps a loaded model of any family as an `EmbeddingModel`: adding a family that embeds is one case here.
public enum EmbeddingModels {
    /// `task` of `family`, loaded from a checkpoint at `step` (nil: a weights file) with the run's `settings`;
    /// `runDirectory` is where its run kept a trained tokenizer, if anywhere.
    public static func model(for task: TrainingTask, family: String, settings: Settings, step: Int?,
                             runDirectory: String?) throws -> EmbeddingModel {
        let identity = try ModelIdentity(family: family, modelConfig: task.modelConfig, parameters: task.parameters, step: step)
        if let clip = task as? CLIPTask {
            let tokenizer = try CLIPEmbeddingModel.tokenizer(model: clip.model, attachment: task.checkpointAttachment, settings: settings,
                                                             runDirectory: runDirectory)
            return CLIPEmbeddingModel(model: clip.model, identity: identity, tokenizer: tokenizer)
        }
        if let bind = task as? BindTask {
            let tokenizer = try BindEmbeddingModel.tokenizer(model: bind.model, attachment: task.checkpointAttachment, settings: settings)
            return BindEmbeddingModel(model: bind.model, identity: identity, tokenizer: tokenizer, audio: bind.evaluationAudio(settings: settings))
        }
        throw RetrievalError("the \(family) family has no image embedding to index")
    }
}
