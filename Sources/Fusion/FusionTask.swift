import Checkpoint
import DataPipeline
import Distributed
import Foundation
import NN
import TensorCore
import TrainingKit

/// How the engine trains a `FusionModel`: softmax cross-entropy of each sample's fused logits, a loss local to the
/// sample (no global outputs, nothing gathered), with modality dropout during training; or, while the objective is
/// `unimodal`, the mean over modalities of each encoder's own classification loss, with the fusion head frozen.
public final class FusionTask: TrainingTask {
    public let model: FusionModel
    let settings: Settings
    /// `--class-weights`, or nil for the plain mean cross-entropy.
    let classWeights: ClassWeights?
    public var checkpointAttachment: String?
    /// The current stage's `--fusion-objective`.
    public private(set) var objective = FusionObjective.fused

    public var modelLabel: String? {
        let towers = settings.modalities.split(separator: ",").map { modality in
            switch modality {
            case "image": return "image \(settings.modelImage)"
            case "text": return "text \(settings.modelText)"
            default: return "\(modality) \(settings.modelAudio)"
            }
        }
        return "\(settings.fusion.rawValue) head over " + towers.joined(separator: " + ")
    }

    public init(model: FusionModel, settings: Settings) throws {
        self.model = model
        self.settings = settings
        classWeights = try ClassWeights.parse(settings.classWeights, classes: model.config.classes)
        applyStageSettings(settings)
    }

    public func applyStageSettings(_ settings: Settings) {
        // A model built without unimodal heads (as when no stage asks for them) cannot train them.
        precondition(settings.fusionObjective == .fused || model.config.hasUnimodalHeads,
                     "--fusion-objective unimodal on a fusion model without unimodal heads")
        objective = settings.fusionObjective
    }

    /// The head the current objective does not use is frozen: its parameters get no gradient, storage or update.
    public var frozenPrefixes: [String] {
        guard model.config.hasUnimodalHeads else { return [] }
        return objective == .unimodal ? [model.fusionHeadPrefix] : ["unimodal."]
    }

    public var parameters: ParameterStore { model.parameters }

    public var modelConfig: JSONValue {
        // Through the checkpoint header's own encoding, so a resumed run's recorded config compares equal.
        try! JSONValue(encoding: model.config)
    }

    /// Which modalities each sample of a training batch keeps: all, or modality dropout's draw from the sample indices.
    func presence(_ batch: TaskBatch) -> ModalityPresence {
        let count = model.config.modalities.count
        guard settings.modalityDropout > 0, count > 1, let indices = batch.integers["sample_index"] else {
            return .all(samples: batch.count, modalities: count)
        }
        return .dropout(probability: settings.modalityDropout, seed: settings.seed, sampleIndices: indices, modalities: count)
    }

    public func logits(_ batch: TaskBatch, presence: ModalityPresence) -> Tensor {
        let features = model.features(images: batch.tensors[FusionModality.image.rawValue], tokens: batch.integers[FusionModality.text.rawValue],
                                      spectrograms: batch.tensors[FusionModality.audio.rawValue])
        return model.logits(features, presence: presence)
    }

    public func forward(_ batch: TaskBatch) -> TaskOutputs {
        guard objective == .unimodal else { return TaskOutputs(local: loss(logits(batch, presence: presence(batch)), batch)) }
        let perModality = model.unimodalLogits(images: batch.tensors[FusionModality.image.rawValue],
                                               tokens: batch.integers[FusionModality.text.rawValue])
        let sum = perModality.dropFirst().reduce(loss(perModality[0], batch)) { $0 + loss($1, batch) }
        return TaskOutputs(local: sum * (1 / Float(perModality.count)))
    }

    /// The classification loss of `logits` against the batch's labels (cross-entropy, or binary cross-entropy per class).
    func loss(_ logits: Tensor, _ batch: TaskBatch) -> Tensor {
        if multiLabel {
            let targets = MultiLabelLoss.multiHot(batch.rows(labelField.name), samples: batch.count, classes: model.config.classes)
            return MultiLabelLoss.binaryCrossEntropy(logits, targets: targets, classWeights: classWeights?.values)
        }
        let labels = batch.rows("label")
        return classWeights.map { $0.crossEntropy(logits, labels: labels) } ?? logits.crossEntropy(labels: labels)
    }

    /// `--multi-label`: a set of classes per sample instead of one.
    var multiLabel: Bool { settings.multiLabel }

    /// Where the targets are: the class index (`label`) or the class set (`labels`).
    var labelField: SampleField { multiLabel ? .labels : .label }

    public func globalLoss(_ outputs: [Tensor], communicator: Communicator) throws -> GlobalLoss {
        preconditionFailure("the fusion classifier has no global outputs")
    }

    public func setRecomputation(blocks: Int, mlpBlocks: Int) { model.setCheckpointedBlocks(blocks, mlpRecomputed: mlpBlocks) }

    /// The sample fields read: each modality's and the class label (or set).
    var fields: [SampleField] {
        model.config.modalityList.map(\.field) + [labelField]
    }

    func dataSetup(_ context: RunContext) -> DataSetup {
        let towers = model.config.towers
        var setup = DataSetup(settings: context.settings, imageSize: towers.vision?.imageSize ?? 224,
                              contextLength: towers.text?.contextLength ?? 77, vocabularySize: towers.text?.vocabSize ?? 49408,
                              runDirectory: context.runDirectory, fields: fields)
        setup.skipIncomplete = context.settings.skipIncomplete
        if let audio = towers.audio {
            setup.melBins = audio.melBins
            setup.audioFrames = audio.frames
        }
        return setup
    }

    public func trainingData(_ context: RunContext) throws -> TrainingDataSource {
        let data = try dataSetup(context).imageTextTrainingData(context)
        if let json = data.trainedTokenizerJSON { checkpointAttachment = json }
        return SampleIndexedData(base: data.source, rank: context.rank, worldSize: context.worldSize, classes: model.config.classes,
                                 labelField: labelField.name)
    }

    public func evaluation(_ context: RunContext) throws -> TaskEvaluation? {
        let setup = dataSetup(context)
        guard let source = try setup.validationSource() else { return nil }
        return FusionEvaluation(task: self, source: source, tokenizer: try setup.tokenizer(), settings: context.settings)
    }
}
