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
        var config = try ModelCatalog.config(settings.model)
        if settings.siglip && config.initLogitBias == nil {
            // OpenCLIP's --siglip initialisation: a learnable bias of -10 and a temperature of 10.
            config.initLogitBias = -10
            config.initLogitScale = Foundation.log(10)
        }
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
        return CLIPTask(model: model, settings: settings)
    }

    public static func makeTask(modelConfig: JSONValue, settings: Settings) throws -> TrainingTask {
        let config: CLIPConfig
        do { config = try modelConfig.decode(as: CLIPConfig.self) } catch {
            throw TrainingError("the recorded CLIP model config does not decode (\(error))")
        }
        return CLIPTask(model: CLIPModel(config: config), settings: settings)
    }
}
