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
        func number(_ value: JSONValue?, _ key: String) throws -> Double? {
            switch value {
            case nil, .null?: return nil
            case .integer(let v)?: return Double(v)
            case .double(let v)?: return v
            default: throw TrainingError("\(source): the recorded CLIP config's \(key) is not a number")
            }
        }
        func integer(_ section: JSONValue?, _ key: String, _ fallback: Int) throws -> Int {
            guard let value = try number(section?[key], key) else { return fallback }
            guard value > 0, value == value.rounded() else { throw TrainingError("\(source): the recorded CLIP config's \(key) must be a positive integer") }
            return Int(value)
        }
        guard let embed = try number(clip["embed_dim"], "embed_dim"), let v = clip["vision_cfg"], let t = clip["text_cfg"] else {
            throw TrainingError("\(source): its recorded model config is not a CLIP config (embed_dim, vision_cfg, text_cfg)")
        }
        var vision = VisionTransformerConfig()
        vision.imageSize = try integer(v, "image_size", vision.imageSize)
        vision.patchSize = try integer(v, "patch_size", vision.patchSize)
        vision.width = try integer(v, "width", vision.width)
        vision.layers = try integer(v, "layers", vision.layers)
        vision.headWidth = try integer(v, "head_width", vision.headWidth)
        vision.mlpRatio = try number(v["mlp_ratio"], "mlp_ratio") ?? vision.mlpRatio
        var text = TextTransformerConfig()
        text.contextLength = try integer(t, "context_length", text.contextLength)
        text.vocabSize = try integer(t, "vocab_size", text.vocabSize)
        text.width = try integer(t, "width", text.width)
        text.heads = try integer(t, "heads", text.heads)
        text.layers = try integer(t, "layers", text.layers)
        text.mlpRatio = try number(t["mlp_ratio"], "mlp_ratio") ?? text.mlpRatio
        var quickGELU = false
        if case .bool(let value)? = clip["quick_gelu"] { quickGELU = value }
        return BindModelConfig(modality: modality, embedDim: Int(embed), quickGELU: quickGELU, vision: vision, text: text, audio: audio)
    }
}
