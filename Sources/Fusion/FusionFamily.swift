import Checkpoint
import TrainingKit

/// The multimodal fusion classifier as a model family (`--task fusion`): CLIP's encoders per modality, a late or gated
/// fusion head, single-label cross-entropy.
public enum FusionFamily: ModelFamily {
    public static let name = "fusion"
    public static var settings: any SettingCatalog { FusionSettings.declared }

    public static func makeTask(settings: Settings) throws -> TrainingTask {
        try FusionTask(model: FusionModel(config: try FusionModelConfig.from(settings: settings), seed: settings.seed), settings: settings)
    }

    public static func makeTask(modelConfig: JSONValue, settings: Settings) throws -> TrainingTask {
        let config: FusionModelConfig
        do { config = try modelConfig.decode(as: FusionModelConfig.self) } catch {
            throw TrainingError("the recorded fusion model config does not decode: \(error)")
        }
        return try FusionTask(model: FusionModel(config: config), settings: settings)
    }
}
