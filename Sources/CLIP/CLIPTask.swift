import Checkpoint
import DataPipeline
import Distributed
import Foundation
import NN
import TensorCore
import Text
import TrainingKit

/// How the engine trains a `CLIPModel`: image and text embeddings are the global outputs; the loss is OpenCLIP's
/// `ClipLoss(local_loss=True, gather_with_grad=True)` (or `SigLipLoss`, or HN-NCE with `--hn-beta`/`--hn-alpha`)
/// over every rank's gathered embeddings, with `--hard-negatives` captions as extra image→text columns and images as
/// extra text→image columns.
public final class CLIPTask: TrainingTask {
    public let model: CLIPModel
    let settings: Settings
    /// Logits are computed in tiles of at most this many entries (memory O(local batch × tile)).
    public var tileElements = ContrastiveLoss.defaultTileElements
    /// The built-in tokenizer's JSON when the run trained one: recorded in checkpoints, and used by evaluation.
    public var checkpointAttachment: String?

    /// The distillation teacher (`--distill-teacher` / `--distill-embeddings`); its embeddings of each batch join the
    /// batch as `teacher_image` and `teacher_text`.
    public let teacher: DistillationTeacher?
    /// The unweighted distillation losses of the last step on this rank, for logging.
    private var distillationTerms: [String: Double] = [:]
    /// Which mined negatives the batches carry (`--hard-negatives` captions, images): forward's outputs hold their
    /// embeddings and masks, which the global loss of the same step reads.
    private var negativeKinds = (texts: false, images: false)

    public init(model: CLIPModel, settings: Settings, teacher: DistillationTeacher? = nil) {
        self.model = model
        self.settings = settings
        self.teacher = teacher
        applyStageSettings(settings)
    }

    /// `--force-patch-dropout` may change from stage to stage (FLIP's final unmasked phase).
    public func applyStageSettings(_ settings: Settings) {
        model.patchDropout = PatchDropout(probability: settings.forcePatchDropout, seed: settings.seed)
    }

    public var parameters: ParameterStore { model.parameters }

    public var modelConfig: JSONValue {
        // Encoding a decoded config cannot fail; a failure here is a programming error.
        try! JSONValue(encoding: model.config)
    }

    public func forward(_ batch: TaskBatch) -> TaskOutputs {
        // Only the engine's training step calls forward; evaluation encodes through the model, with every patch.
        let image = model.encodeImage(batch.tensor("image"), training: true), text = model.encodeText(batch.rows("text"))
        var global = [image, text]
        // Mined negatives: one row of K embeddings per sample, so that micro-batches slice them with their samples; the
        // masks are constants.
        let mined = !settings.hardNegatives.isEmpty
        negativeKinds = (mined && batch.integers["hard_negative_text"] != nil, mined && batch.tensors["hard_negative_image"] != nil)
        if negativeKinds.texts, let negativeTokens = batch.integers["hard_negative_text"] {
            global += [model.encodeText(negativeTokens).reshaped([batch.count, -1]), batch.tensor("hard_negative_mask")]
        }
        if negativeKinds.images, let negativeImages = batch.tensors["hard_negative_image"] {
            // [B, K, 3, H, W]: the image tower encodes them with gradients, as training images (patch dropout included).
            let shape = negativeImages.shape
            let encoded = model.encodeImage(negativeImages.reshaped([shape[0] * shape[1]] + Array(shape[2...])), training: true)
            global += [encoded.reshaped([batch.count, -1]), batch.tensor("hard_negative_image_mask")]
        }
        guard teacher != nil else { return TaskOutputs(global: global) }
        // The teacher's embeddings are constants: global outputs for the affinity loss (no gradient flows into them),
        // and the feature loss is local to each sample.
        let kind = settings.distillLoss
        let teacherImage = batch.tensor("teacher_image"), teacherText = batch.tensor("teacher_text")
        var outputs = TaskOutputs(global: kind.affinity ? global + [teacherImage, teacherText] : global)
        if kind.feature {
            let projected = model.distillProjection.map { (Tensor.matmul(image, $0.image.tensor, transposeB: true),
                                                           Tensor.matmul(text, $0.text.tensor, transposeB: true)) } ?? (image, text)
            let feature = DistillationLoss.feature(image: projected.0, text: projected.1, teacherImage: teacherImage, teacherText: teacherText)
            distillationTerms["distill_feature"] = Double(feature.scalar)
            outputs.local = feature * Float(settings.distillFeatureWeight)
        }
        return outputs
    }

    /// This rank's loss over the global batch and the gradients of its own embeddings (every rank's contribution
    /// summed back to the owner), plus the temperature's (and SigLIP's bias's) gradient.
    public func globalLoss(_ outputs: [Tensor], communicator: Communicator) throws -> GlobalLoss {
        let image = outputs[0], text = outputs[1]
        guard settings.siglip else {
            // Outputs: image, text, then the negative captions and their mask, the negative images and theirs, then the
            // teacher's image and text.
            var rest = outputs.dropFirst(2)
            let negatives = negativeKinds.texts ? HardNegativeEmbeddings(embeddings: rest.removeFirst(), mask: rest.removeFirst()) : nil
            let negativeImages = negativeKinds.images ? HardNegativeEmbeddings(embeddings: rest.removeFirst(), mask: rest.removeFirst()) : nil
            var affinity: AffinityTeacher?
            if rest.count == 2, let teacher {
                affinity = AffinityTeacher(image: rest.removeFirst(), text: rest.removeFirst(), scale: teacher.scale!, weight: Float(settings.distillWeight))
            }
            let loss = try GlobalLoss.clip(image: image, text: text, logitScale: model.logitScale, communicator: communicator,
                                           tileElements: tileElements, hardNegatives: settings.hardNegativeWeighting,
                                           negativeTexts: negatives, negativeImages: negativeImages, teacher: affinity)
            for (name, value) in loss.terms { distillationTerms[name] = Double(value) }
            return loss
        }
        let exchange = FeatureExchange(localRows: image.shape[0], featureDimension: image.shape[1], communicator: communicator)
        let evaluation = SigLIPLossEvaluation(localImage: image, gatheredText: try exchange.gathered(text), logitScale: model.logitScale.value.scalar,
                                              logitBias: model.logitBias?.value.scalar ?? -10, rank: communicator.rank, tileElements: tileElements)
        let g = evaluation.gradients()
        var scalars = [(model.logitScale, [g.logitScale])]
        if let bias = model.logitBias { scalars.append((bias, [g.logitBias])) }
        return GlobalLoss(loss: evaluation.loss, outputGradients: [g.localImage, try exchange.ownRows(g.gatheredText)], parameterGradients: scalars)
    }

    /// `--lock-image` freezes the image tower (`visual.`), `--lock-text` the text tower.
    public var frozenPrefixes: [String] {
        (settings.lockImage ? ["visual."] : []) + (settings.lockText ? CLIPModel.textTowerPrefixes : [])
    }

    public func didStep() { model.clampLogitScale() }

    public var stepMetrics: [String: Double] {
        distillationTerms.merging(["logit_scale": Double(Foundation.exp(model.logitScale.value.scalar))]) { $1 }
    }

    public func setRecomputation(blocks: Int, mlpBlocks: Int) {
        model.checkpointedBlocksPerTower = blocks
        model.mlpRecomputedBlocksPerTower = mlpBlocks
    }

    func dataSetup(_ context: RunContext) -> DataSetup {
        DataSetup(settings: context.settings, imageSize: model.config.vision.imageSize, contextLength: model.config.text.contextLength,
                  vocabularySize: model.config.text.vocabSize, runDirectory: context.runDirectory)
    }

    public func trainingData(_ context: RunContext) throws -> TrainingDataSource {
        let setup = dataSetup(context), data = try setup.imageTextTrainingData(context)
        if let json = data.trainedTokenizerJSON { checkpointAttachment = json }
        let source = try setup.addingHardNegatives(to: data.source)
        return teacher.map { TeacherEmbeddingDataSource(base: source, teacher: $0) } ?? source
    }

    public func evaluation(_ context: RunContext) throws -> TaskEvaluation? {
        guard context.settings.datasetType != .random else { return nil }
        let setup = dataSetup(context)
        let tokenizer: TextTokenizer
        if let recorded = checkpointAttachment {
            tokenizer = try TrainedBPETokenizer(jsonData: Data(recorded.utf8), source: "the checkpoint's tokenizer")
        } else {
            tokenizer = try setup.tokenizer()
        }
        let evaluator = CLIPEvaluation(model: model, tokenizer: tokenizer, zeroShot: try setup.zeroShotTask(),
                                       validation: try setup.validationSource(), settings: context.settings)
        return evaluator.metricNames.isEmpty ? nil : evaluator
    }
}

extension CLIPModel {
    /// Key prefixes of the text tower's parameters (OpenCLIP keeps them at the top level).
    static let textTowerPrefixes = ["token_embedding", "positional_embedding", "transformer.", "ln_final", "text_projection"]
}
