import Checkpoint
import Foundation
import NN
import TrainingKit

/// CLIP as a model family: OpenCLIP's dual encoder trained with the contrastive (or SigLIP) loss over the global batch.
public enum CLIPFamily: ModelFamily {
    public static let name = "clip"
    public static var settings: any SettingCatalog { CLIPSettings.declared }

    public static func makeTask(settings: Settings) throws -> TrainingTask {
        if settings.siglip && !settings.hardNegativeWeighting.isPlainInfoNCE {
            throw TrainingError("--hn-alpha, --hn-beta and --hn-debiased-tau-plus weigh a softmax's denominator, which --siglip does not have")
        }
        if settings.siglip && !settings.hardNegatives.isEmpty {
            throw TrainingError("--hard-negatives adds softmax columns; it does not apply to --siglip")
        }
        try settings.checkHardNegativeSettings(hasContrastiveLoss: true, lossName: "")
        var config = try ModelCatalog.config(settings.model)
        if settings.siglip && config.initLogitBias == nil {
            // OpenCLIP's --siglip initialisation: a learnable bias of -10 and a temperature of 10.
            config.initLogitBias = -10
            config.initLogitScale = Foundation.log(10)
        }
        let teacher = try distillationTeacher(settings: settings, student: config)
        if let teacher, settings.distillLoss.feature, teacher.width != config.embedDim { config.distillProjectionDim = teacher.width }
        let model = CLIPModel(config: config, seed: settings.seed)
        if !settings.initImage.isEmpty {
            try PretrainedWeights(settings.initImage).load(into: model.parameters, prefix: "visual.", from: "visual.")
        }
        if !settings.initText.isEmpty {
            let weights = try PretrainedWeights(settings.initText)
            try weights.load(into: model.parameters) { name in
                OpenCLIPTowerKeys.isCLIPText(name) ? OpenCLIPTowerKeys.textSource(name, in: weights) : nil
            }
        }
        return CLIPTask(model: model, settings: settings, teacher: teacher)
    }

    /// The teacher `--distill-teacher` / `--distill-embeddings` describe, or nil when neither is set.
    static func distillationTeacher(settings: Settings, student: CLIPConfig) throws -> DistillationTeacher? {
        let path = settings.distillTeacher, embeddings = settings.distillEmbeddings
        guard !path.isEmpty || !embeddings.isEmpty else { return nil }
        if settings.siglip && settings.distillLoss.affinity {
            throw TrainingError("--distill-loss \(settings.distillLoss.rawValue) distils softmax similarity distributions, which --siglip does not have (use --distill-loss feature)")
        }
        let model = path.isEmpty ? nil : try DistillationTeacher.loadModel(path: path, modelName: settings.distillTeacherModel, student: student)
        let chosenScale = settings.distillTeacherScale > 0 ? Float(settings.distillTeacherScale) : nil
        guard !embeddings.isEmpty else { return DistillationTeacher(model: model!, scale: chosenScale) }
        guard let open = PrecomputedEmbeddingsReader.open else { throw TrainingError("--distill-embeddings: no reader of embeddings folders in this program") }
        let teacher = DistillationTeacher(precomputed: try open(embeddings), scale: chosenScale ?? model.map { Foundation.exp($0.logitScale.value.scalar) })
        if settings.distillLoss.affinity && teacher.scale == nil {
            throw TrainingError("--distill-loss \(settings.distillLoss.rawValue) with --distill-embeddings needs --distill-teacher or --distill-teacher-scale for the teacher's temperature")
        }
        if let model, model.config.embedDim != teacher.width {
            throw TrainingError("\(embeddings): embeddings of width \(teacher.width), but the teacher \(path) embeds \(model.config.embedDim)")
        }
        return teacher
    }

    public static func makeTask(modelConfig: JSONValue, settings: Settings) throws -> TrainingTask {
        let config: CLIPConfig
        do { config = try modelConfig.decode(as: CLIPConfig.self) } catch {
            throw TrainingError("the recorded CLIP model config does not decode (\(error))")
        }
        return CLIPTask(model: CLIPModel(config: config), settings: settings)
    }
}
