import Checkpoint
import NN
import TrainingKit

/// Everything that fixes a bound model's parameters, as checkpoints record it: the CLIP towers it was bound to and the
/// new modality's encoder, all projected to the CLIP's `embed_dim`.
public struct BindModelConfig: Codable, Equatable, Sendable {
    public var modality: String
    public var embedDim: Int
    public var quickGELU: Bool
    public var vision: VisionTransformerConfig
    public var text: TextTransformerConfig
    public var audio: SpectrogramTransformerConfig

    public init(modality: BindModality, embedDim: Int, quickGELU: Bool, vision: VisionTransformerConfig, text: TextTransformerConfig,
                audio: SpectrogramTransformerConfig) {
        self.modality = modality.rawValue
        self.embedDim = embedDim
        self.quickGELU = quickGELU
        self.vision = vision
        self.text = text
        self.audio = audio
    }

    /// The towers of a CLIP checkpoint's recorded model config (OpenCLIP's `embed_dim`, `quick_gelu`, `vision_cfg`,
    /// `text_cfg`), plus the audio encoder; errors name `source`.
    public static func bound(to clip: JSONValue, source: String, modality: BindModality, audio: SpectrogramTransformerConfig) throws -> BindModelConfig {
        do {
            let top = try ConfigSection(recorded: clip)
            guard top.contains("embed_dim") else { throw ConfigError("missing key embed_dim") }
            let embedDim = try top.int("embed_dim", 0)
            guard embedDim > 0 else { throw ConfigError("embed_dim must be positive, got \(embedDim)") }
            return BindModelConfig(modality: modality, embedDim: embedDim, quickGELU: try top.bool("quick_gelu", false),
                                   vision: try VisionTransformerConfig(section: try top.section("vision_cfg")),
                                   text: try TextTransformerConfig(section: try top.section("text_cfg")), audio: audio)
        } catch let error as ConfigError {
            throw TrainingError("\(source): its recorded model config is not a CLIP config (\(error.description))")
        }
    }
}
