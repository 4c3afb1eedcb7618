import Checkpoint
import TrainingKit

/// The multimodal fusion classifier as a model family (`--task fusion`): CLIP's encoders (and a spectrogram ViT for
/// audio) per modality, a late, gated or early fusion head, single-label cross-entropy.
public enum FusionFamily: ModelFamily {
    public static let name = "fusion"
    public static var settings: any SettingCatalog { FusionSettings.declared }

    public static func makeTask(settings: Settings) throws -> TrainingTask {
        let model = FusionModel(config: try FusionModelConfig.from(settings: settings), seed: settings.seed)
        try loadPretrainedTowers(into: model, settings: settings)
        return try FusionTask(model: model, settings: settings)
    }

    /// `--init-image` / `--init-text`: the encoders start from a CLIP, CoCa or fusion checkpoint or OpenCLIP safetensors.
    /// Fusion keeps OpenCLIP's image keys (`visual.`) and nests the text tower under `text.`, as CoCa does; a CLIP source
    /// keeps its text tower at the root. The head keeps its random start.
    static func loadPretrainedTowers(into model: FusionModel, settings: Settings) throws {
        if !settings.initImage.isEmpty {
            guard model.vision != nil else { throw TrainingError("--init-image \(settings.initImage): --modalities \(settings.modalities) has no image encoder") }
            try PretrainedWeights(settings.initImage).load(into: model.parameters, prefix: "visual.", from: "visual.")
        }
        if !settings.initText.isEmpty {
            guard model.text != nil else { throw TrainingError("--init-text \(settings.initText): --modalities \(settings.modalities) has no text encoder") }
            let weights = try PretrainedWeights(settings.initText)
            try weights.load(into: model.parameters) { name in
                name.hasPrefix("text.") ? OpenCLIPTowerKeys.textSource(String(name.dropFirst("text.".count)), in: weights) : nil
            }
        }
    }

    public static func makeTask(modelConfig: JSONValue, settings: Settings) throws -> TrainingTask {
        let config: FusionModelConfig
        do { config = try modelConfig.decode(as: FusionModelConfig.self) } catch {
            throw TrainingError("the recorded fusion model config does not decode: \(error)")
        }
        return try FusionTask(model: FusionModel(config: config), settings: settings)
    }
}
