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
            let (section, embed) = try tower("vision_cfg", of: settings.modelImage, flag: "--model-image")
            let vision = try configError(settings.modelImage, flag: "--model-image") { try VisionTransformerConfig(section: section) }
            towers.vision = vision
            towers.visionOutputDim = embed ?? vision.width
        }
        if modalities.contains(.text) {
            let (section, embed) = try tower("text_cfg", of: settings.modelText, flag: "--model-text")
            let text = try configError(settings.modelText, flag: "--model-text") { try TextTransformerConfig(section: section) }
            towers.text = text
            towers.textOutputDim = embed ?? text.width
        }
        if modalities.contains(.audio) {
            let (audio, embed) = try AudioTowerSettings.tower(settings)
            towers.audio = audio
            towers.audioOutputDim = embed ?? audio.width
        }
        return towers
    }

    /// The tower section of a model file (or the whole file when it has no such section) and the model's `embed_dim`.
    /// Keys a tower does not read are ignored: a CLIP or CoCa model file serves as it is.
    static func tower(_ key: String, of model: String, flag: String) throws -> (ConfigSection, Int?) {
        try configError(model, flag: flag) {
            let document = try ConfigSection.document(path: try ModelConfigFiles.path(model))
            guard document.contains(key) else { return (document, nil) }
            return (try document.section(key), try document.optionalInt("embed_dim"))
        }
    }

    /// A config error as one line naming the flag and the model.
    private static func configError<T>(_ model: String, flag: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as ConfigError { throw TrainingError("\(flag) \(model): \(error.description)") }
    }
}
