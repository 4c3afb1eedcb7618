import Foundation
import NN
import TrainingKit

/// The encoder architectures a fusion model composes, read from OpenCLIP-style JSON: a CLIP model config (its
/// `vision_cfg` / `text_cfg`, projected to its `embed_dim`) or a tower config alone (projected to its own width); the
/// audio tower from a spectrogram ViT config (`audio_cfg`, see `SpectrogramTransformerConfig`).
public struct FusionTowerConfigs: Codable, Equatable, Sendable {
    public var vision: VisionTransformerConfig?
    public var visionOutputDim = 0
    public var text: TextTransformerConfig?
    public var textOutputDim = 0
    public var audio: SpectrogramTransformerConfig?
    /// Optional so that the configs recorded before audio existed still decode.
    public var audioOutputDim: Int?

    public init() {}

    /// Reads the towers `modalities` need from `--model-image`, `--model-text` and `--model-audio`.
    public static func load(settings: Settings, modalities: [FusionModality]) throws -> FusionTowerConfigs {
        var towers = FusionTowerConfigs()
        if modalities.contains(.image) {
            let (cfg, embed) = try section("vision_cfg", of: settings.modelImage, flag: "--model-image")
            var vision = VisionTransformerConfig()
            vision.imageSize = try integer(cfg, "image_size", vision.imageSize, flag: "--model-image")
            vision.patchSize = try integer(cfg, "patch_size", vision.patchSize, flag: "--model-image")
            vision.width = try integer(cfg, "width", vision.width, flag: "--model-image")
            vision.layers = try integer(cfg, "layers", vision.layers, flag: "--model-image")
            vision.headWidth = try integer(cfg, "head_width", vision.headWidth, flag: "--model-image")
            vision.mlpRatio = (cfg["mlp_ratio"] as? Double) ?? vision.mlpRatio
            guard vision.width % vision.headWidth == 0, vision.imageSize % vision.patchSize == 0 else {
                throw TrainingError("--model-image \(settings.modelImage): width must divide by head_width and image_size by patch_size")
            }
            towers.vision = vision
            towers.visionOutputDim = embed ?? vision.width
        }
        if modalities.contains(.text) {
            let (cfg, embed) = try section("text_cfg", of: settings.modelText, flag: "--model-text")
            var text = TextTransformerConfig()
            text.contextLength = try integer(cfg, "context_length", text.contextLength, flag: "--model-text")
            text.vocabSize = try integer(cfg, "vocab_size", text.vocabSize, flag: "--model-text")
            text.width = try integer(cfg, "width", text.width, flag: "--model-text")
            text.heads = try integer(cfg, "heads", text.heads, flag: "--model-text")
            text.layers = try integer(cfg, "layers", text.layers, flag: "--model-text")
            text.mlpRatio = (cfg["mlp_ratio"] as? Double) ?? text.mlpRatio
            guard text.width % text.heads == 0 else { throw TrainingError("--model-text \(settings.modelText): width must divide by heads") }
            towers.text = text
            towers.textOutputDim = embed ?? text.width
        }
        if modalities.contains(.audio) {
            do {
                let (audio, embed) = try SpectrogramTransformerConfig.load(path: try ModelConfigFiles.path(settings.modelAudio))
                towers.audio = audio
                towers.audioOutputDim = embed ?? audio.width
            } catch {
                throw TrainingError("--model-audio \(settings.modelAudio): \(error)")
            }
        }
        return towers
    }

    /// The tower section of a model file (or the whole file when it has no such section) and the model's `embed_dim`.
    static func section(_ key: String, of model: String, flag: String) throws -> ([String: Any], Int?) {
        let path = try ModelConfigFiles.path(model)
        guard let data = FileManager.default.contents(atPath: path),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TrainingError("\(flag) \(model): \(path) is not a JSON object")
        }
        if let tower = json[key] as? [String: Any] { return (tower, json["embed_dim"] as? Int) }
        return (json, nil)
    }

    static func integer(_ cfg: [String: Any], _ key: String, _ fallback: Int, flag: String) throws -> Int {
        guard let value = cfg[key] else { return fallback }
        guard let number = value as? Int, number > 0 else { throw TrainingError("\(flag): \(key) must be a positive integer") }
        return number
    }
}
