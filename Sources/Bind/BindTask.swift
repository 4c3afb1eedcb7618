import Checkpoint
import DataPipeline
import Distributed
import Foundation
import NN
import TensorCore
import Text
import TrainingKit

/// How the engine binds a modality to a CLIP's image space (ImageBind): the bound modality's and the images'
/// embeddings are the global outputs, the loss is CLIP's gathered contrastive loss with the new modality in place of
/// text, at the modality's own temperature. The CLIP text tower is never on the tape; the image tower is frozen unless
/// `--bind-train-image`.
public final class BindTask: TrainingTask {
    public let model: BindModel
    let settings: Settings
    /// Logits are computed in tiles of at most this many entries (memory O(local batch × tile)).
    public var tileElements = ContrastiveLoss.defaultTileElements
    /// The CLIP's trained tokenizer (its JSON), which evaluation's text tower needs; nil for CLIP's BPE.
    public var checkpointAttachment: String?

    public init(model: BindModel, settings: Settings) {
        self.model = model
        self.settings = settings
    }

    public var parameters: ParameterStore { model.parameters }

    public var modelLabel: String? { "\(settings.bindModality) encoder \(settings.modelAudio) bound to \(settings.imageCheckpoint)" }

    public var modelConfig: JSONValue {
        // Encoding a decoded config cannot fail; a failure here is a programming error.
        try! JSONValue(encoding: model.config)
    }

    public func forward(_ batch: TaskBatch) -> TaskOutputs {
        let image = model.encodeImage(batch.tensor("image")), audio = model.encodeAudio(batch.tensor("audio"))
        return TaskOutputs(global: [image, audio])
    }

    /// CLIP's loss of this rank's image and audio rows against every rank's, at `audio_logit_scale`.
    public func globalLoss(_ outputs: [Tensor], communicator: Communicator) throws -> GlobalLoss {
        try GlobalLoss.clip(image: outputs[0], text: outputs[1], logitScale: model.audioLogitScale, communicator: communicator,
                            tileElements: tileElements)
    }

    /// The text tower and its temperature always; the image tower unless `--bind-train-image`; the bound modality's
    /// temperature with `--bind-fixed-logit-scale`.
    public var frozenPrefixes: [String] {
        BindModel.textPrefixes + (settings.bindTrainImage ? [] : ["visual."]) + (settings.bindFixedLogitScale ? ["audio_logit_scale"] : [])
    }

    public func didStep() { model.audioLogitScale.clampAsLogitScale() }

    public var stepMetrics: [String: Double] { ["audio_logit_scale": Double(Foundation.exp(model.audioLogitScale.value.scalar))] }

    public func setRecomputation(blocks: Int, mlpBlocks: Int) { model.setCheckpointedBlocks(blocks, mlpRecomputed: mlpBlocks) }

    /// The CLIP's tokenizer: the trained one it recorded, or CLIP's BPE for a 49,408-id text tower.
    func tokenizer(_ setup: DataSetup) throws -> TextTokenizer {
        if let recorded = checkpointAttachment {
            return try TrainedBPETokenizer(jsonData: Data(recorded.utf8), source: "the bound CLIP's tokenizer")
        }
        guard model.config.text.vocabSize == 49_408 else {
            throw TrainingError("the bound CLIP's checkpoint records no tokenizer for its \(model.config.text.vocabSize)-id text tower")
        }
        return try setup.tokenizer()
    }
}
