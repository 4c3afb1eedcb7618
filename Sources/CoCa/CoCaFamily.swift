import Checkpoint
import Foundation
import NN
import TrainingKit

/// CoCa as a model family: OpenCLIP's contrastive captioner, trained with the contrastive loss over the global batch
/// and the captioning cross-entropy of each rank's samples.
public enum CoCaFamily: ModelFamily {
    public static let name = "coca"
    public static var settings: any SettingCatalog { CoCaSettings.declared }

    public static func makeTask(settings: Settings) throws -> TrainingTask {
        try settings.checkHardNegativeSettings(hasContrastiveLoss: settings.cocaContrastiveLossWeight > 0,
                                               lossName: "--coca-contrastive-loss-weight 0")
        let path = try ModelConfigFiles.path(settings.model)
        guard CoCaConfig.isCoCa(path) else { throw TrainingError("--model \(settings.model): \(path) is not a CoCa config (it has no multimodal_cfg)") }
        do {
            let model = CoCaModel(config: try CoCaConfig.load(path), seed: settings.seed)
            try CoCaTowerInitialisation.apply(settings, to: model)
            return CoCaTask(model: model, settings: settings)
        } catch let error as ConfigError {
            throw TrainingError(error.description)
        }
    }

    public static func makeTask(modelConfig: JSONValue, settings: Settings) throws -> TrainingTask {
        do {
            return CoCaTask(model: CoCaModel(config: try CoCaConfig(json: modelConfig)), settings: settings)
        } catch let error as ConfigError {
            throw TrainingError("the recorded CoCa model config: \(error.description)")
        }
    }
}
