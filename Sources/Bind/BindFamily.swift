import Checkpoint
import NN
import TrainingKit

/// ImageBind's binding as a model family (`--task bind`): a new modality's encoder trained against the image tower of a
/// CLIP checkpoint with image-paired data only, so that the modality and the CLIP's text become comparable without
/// ever being trained together.
public enum BindFamily: ModelFamily {
    public static let name = "bind"
    public static var settings: any SettingCatalog { BindSettings.declared }

    /// The CLIP of `--image-checkpoint` with a fresh `--model-audio` encoder (drawn from `--seed`).
    public static func makeTask(settings: Settings) throws -> TrainingTask {
        let path = settings.imageCheckpoint
        guard !path.isEmpty else { throw TrainingError("--task bind needs --image-checkpoint: the CLIP checkpoint whose image space the modality is bound to") }
        let clip = try PretrainedWeights(path)
        guard clip.family == "clip", let recorded = clip.modelConfig else {
            throw TrainingError("--image-checkpoint \(path): a CLIP checkpoint is needed (this one is \(clip.family.map { "of family \($0)" } ?? "safetensors without a model config"))")
        }
        let audio = try AudioTowerSettings.tower(settings).config
        let config = try BindModelConfig.bound(to: recorded, source: path, modality: settings.bindModality, audio: audio)
        let model = BindModel(config: config, seed: settings.seed, initialScale: settings.bindLogitScale)
        // The CLIP's towers and temperature under the same keys; the audio encoder and its temperature keep their start.
        try clip.load(into: model.parameters) { name in name.hasPrefix("audio") ? nil : name }
        let task = BindTask(model: model, settings: settings)
        task.checkpointAttachment = clip.tokenizer
        return task
    }

    public static func makeTask(modelConfig: JSONValue, settings: Settings) throws -> TrainingTask {
        let config: BindModelConfig
        do { config = try modelConfig.decode(as: BindModelConfig.self) } catch {
            throw TrainingError("the recorded bind model config does not decode (\(error))")
        }
        return BindTask(model: BindModel(config: config), settings: settings)
    }
}
