import Checkpoint
import Distributed
import Foundation
import NN
import TensorCore
import Text
import TrainingKit

/// How the engine trains a `CoCaModel`: OpenCLIP's `CoCaLoss` = contrastive weight · ClipLoss over every rank's gathered
/// latents (the global outputs) + caption weight · the captioning cross-entropy (the local loss). The contrastive term
/// takes the hard negatives CLIP's does (`HardNegativeSettings`): HN-NCE's weights, and `--hard-negatives` captions
/// encoded by the text tower as extra image→text columns; they never enter the decoder or the caption loss.
///
/// Token weighting of the caption loss: each micro-batch's loss is the mean over its own non-pad targets; the engine
/// scales a micro-batch's loss by 1/k (k micro-batches) and averages the gradients over ranks. With k = 1 that is
/// exactly open_clip_train's: a token mean per rank, then DDP's average over ranks (so a rank's tokens weigh
/// 1/(ranks · its tokens), not 1/all tokens; the fixture's `dist2` gradients are this). With k > 1 every micro-batch
/// weighs 1/k whatever its token count.
public final class CoCaTask: TrainingTask {
    public let model: CoCaModel
    let settings: Settings
    /// Contrastive logits are computed in tiles of at most this many entries.
    public var tileElements = ContrastiveLoss.defaultTileElements
    /// Caption logits are computed in chunks of at most this many entries.
    public var captionChunkElements = 1 << 22
    /// The built-in tokenizer's JSON when the run trained one: recorded in checkpoints.
    public var checkpointAttachment: String?

    public init(model: CoCaModel, settings: Settings) {
        self.model = model
        self.settings = settings
        applyStageSettings(settings)
    }

    /// `--force-patch-dropout` may change from stage to stage (FLIP's final unmasked phase).
    public func applyStageSettings(_ settings: Settings) {
        model.patchDropout = PatchDropout(probability: settings.forcePatchDropout, seed: settings.seed)
    }

    public var parameters: ParameterStore { model.parameters }

    public var modelConfig: JSONValue {
        // As a checkpoint header stores and reads it back (an integral 4.0 comes back as 4), so a resumed or exported
        // checkpoint's recorded config compares equal. Encoding a JSON value cannot fail.
        try! JSONValue(encoding: model.config.json)
    }

    public func forward(_ batch: TaskBatch) -> TaskOutputs {
        let tokens = batch.rows("text")
        // Only the engine's training step calls forward; evaluation and captioning use every patch.
        let outputs = model.forward(images: batch.tensor("image"), tokens: tokens, training: true, forCaptionLoss: true)
        let caption = model.captionLoss(outputs, tokens: tokens, chunkElements: captionChunkElements)
        let local = caption.map { $0.loss.scaled(by: Float(settings.cocaCaptionLossWeight)) }
        guard settings.cocaContrastiveLossWeight > 0 else { return TaskOutputs(local: local) }
        var global = [outputs.imageLatent.l2Normalized(), outputs.textLatent.l2Normalized()]
        if !settings.hardNegatives.isEmpty, let negativeTokens = batch.integers["hard_negative_text"] {
            // Mined negative captions through the unimodal text tower only, normalised like the positives; one row of K
            // latents per sample, so that micro-batches slice them with their samples. The mask is a constant.
            global += [model.textLatents(negativeTokens).l2Normalized().reshaped([batch.count, -1]), batch.tensor("hard_negative_mask")]
        }
        return TaskOutputs(global: global, local: local)
    }

    /// The weighted contrastive loss (HN-NCE with `--hn-beta`/`--hn-alpha`, mined captions as extra image→text columns)
    /// of this rank's latents against every rank's, with the temperature's gradient.
    public func globalLoss(_ outputs: [Tensor], communicator: Communicator) throws -> GlobalLoss {
        let negatives = outputs.count == 4 ? HardNegativeEmbeddings(embeddings: outputs[2], mask: outputs[3]) : nil
        return try .clip(image: outputs[0], text: outputs[1], logitScale: model.logitScale, weight: Float(settings.cocaContrastiveLossWeight),
                         communicator: communicator, tileElements: tileElements, hardNegatives: settings.hardNegativeWeighting,
                         negativeTexts: negatives)
    }

    /// `--lock-image` freezes the image tower and its pooler (`visual.`).
    public var frozenPrefixes: [String] { settings.lockImage ? ["visual."] : [] }

    public func didStep() { model.clampLogitScale() }

    public var stepMetrics: [String: Double] { ["logit_scale": Double(Foundation.exp(model.logitScale.value.scalar))] }

    public func setRecomputation(blocks: Int, mlpBlocks: Int) { model.setCheckpointedBlocks(blocks, mlpRecomputed: mlpBlocks) }

    public func trainingData(_ context: RunContext) throws -> TrainingDataSource {
        let setup = dataSetup(context)
        let data = try setup.imageTextTrainingData(context)
        if let json = data.trainedTokenizerJSON { checkpointAttachment = json }
        return try setup.addingHardNegatives(to: data.source, images: false)
    }

    func dataSetup(_ context: RunContext) -> DataSetup {
        DataSetup(settings: context.settings, imageSize: model.config.vision.imageSize, contextLength: model.config.text.contextLength,
                  vocabularySize: model.config.text.vocabSize, runDirectory: context.runDirectory)
    }

    /// The tokenizer recorded in the checkpoint (a trained one), else the run's.
    public func tokenizer(_ context: RunContext) throws -> TextTokenizer {
        if let recorded = checkpointAttachment {
            return try TrainedBPETokenizer(jsonData: Data(recorded.utf8), source: "\(context.runDirectory): the checkpoint's tokenizer")
        }
        return try dataSetup(context).tokenizer()
    }

    /// Caption metrics with their baselines, the caption loss, retrieval and zero-shot accuracy (`CoCaEvaluation`), with the
    /// tokenizer recorded in the checkpoint or the run's; none on random data. References come from `json` members too;
    /// the baselines need the training split (`--train-data`, or synthetic data for both splits).
    public func evaluation(_ context: RunContext) throws -> TaskEvaluation? {
        guard context.settings.datasetType != .random else { return nil }
        let setup = dataSetup(context)
        let hasTrainingSplit = context.settings.trainData != nil || context.settings.valData == nil
        let evaluator = try CoCaEvaluation(model: model, tokenizer: try tokenizer(context), zeroShot: try setup.zeroShotTask(),
                                           validation: try setup.validationSource(optionalFields: [.json]),
                                           training: hasTrainingSplit ? try setup.trainingSource() : nil, settings: context.settings)
        return evaluator.metricNames.isEmpty ? nil : evaluator
    }
}
