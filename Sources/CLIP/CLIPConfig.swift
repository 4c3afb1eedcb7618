import Foundation
import NN

/// A CLIP architecture as OpenCLIP's model-config JSON describes it (`embed_dim`, `vision_cfg`, `text_cfg`),
/// with OpenCLIP's defaults for the fields left out.
///
/// Fields OpenCLIP has but SwiftCLIP does not implement are accepted only at their default value;
/// anything else, and any unknown key, is an error naming the key.
public struct CLIPConfig: Codable, Equatable, Sendable {
    public var embedDim: Int
    public var quickGELU: Bool = false
    public var initLogitScale: Double = Foundation.log(1 / 0.07)
    /// Present for SigLIP models: the model gets a learnable `logit_bias` with this initial value.
    public var initLogitBias: Double?
    /// SwiftCLIP's, for training only: a teacher's embedding width when it differs from `embedDim` under feature
    /// distillation; the model then has CLIP-KD's learned projections `distill_projection.{image,text}` onto it.
    public var distillProjectionDim: Int?
    public var vision: VisionConfig
    public var text: TextConfig

    /// `vision_cfg`: the image tower's architecture, as NN's encoder takes it.
    public typealias VisionConfig = VisionTransformerConfig
    /// `text_cfg`: the text tower's architecture, as NN's encoder takes it.
    public typealias TextConfig = TextTransformerConfig

    public init(embedDim: Int, vision: VisionConfig, text: TextConfig) {
        self.embedDim = embedDim
        self.vision = vision
        self.text = text
    }
}

extension CLIPConfig {
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// OpenCLIP fields that SwiftCLIP accepts only at these default values (JSON `null` or the listed value).
    private static let defaultOnly: [String: Set<String>] = [
        "top": ["custom_text:false", "cast_dtype:null"],
        "vision_cfg": ["ls_init_value:null", "patch_dropout:0", "patch_dropout:0.0", "attentional_pool:false",
                       "pool_type:tok", "final_ln_after_pool:false", "output_tokens:false", "no_ln_pre:false",
                       "timm_model_name:null", "input_patchnorm:false", "global_average_pool:false", "layers_is_list:false"],
        "text_cfg": ["ls_init_value:null", "embed_cls:false", "pad_id:0", "no_causal_mask:false", "final_ln_after_pool:false",
                     "pool_type:argmax", "proj_bias:false", "proj_type:linear", "output_tokens:false", "hf_model_name:null",
                     "hf_tokenizer_name:null", "tokenizer_kwargs:null"],
    ]

    private static func literal(_ c: KeyedDecodingContainer<Key>, _ key: Key) -> String {
        if (try? c.decodeNil(forKey: key)) == true { return "null" }
        if let b = try? c.decode(Bool.self, forKey: key) { return String(b) }
        if let i = try? c.decode(Int.self, forKey: key) { return String(i) }
        if let d = try? c.decode(Double.self, forKey: key) { return String(d) }
        if let s = try? c.decode(String.self, forKey: key) { return s }
        return "<object>"
    }

    private static func checkKeys(_ c: KeyedDecodingContainer<Key>, section: String, known: Set<String>) throws {
        for key in c.allKeys where !known.contains(key.stringValue) {
            let value = literal(c, key)
            let allowed = defaultOnly[section, default: []]
            if allowed.contains("\(key.stringValue):\(value)") { continue }
            if allowed.contains(where: { $0.hasPrefix(key.stringValue + ":") }) {
                throw ConfigError("\(section).\(key.stringValue) = \(value) is not supported (only its OpenCLIP default)")
            }
            throw ConfigError("unknown key \(section == "top" ? "" : section + ".")\(key.stringValue)")
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        try Self.checkKeys(c, section: "top", known: ["embed_dim", "quick_gelu", "init_logit_scale", "init_logit_bias", "distill_projection_dim",
                                                           "vision_cfg", "text_cfg"])
        embedDim = try c.decode(Int.self, forKey: Key("embed_dim"))
        quickGELU = try c.decodeIfPresent(Bool.self, forKey: Key("quick_gelu")) ?? false
        initLogitScale = try c.decodeIfPresent(Double.self, forKey: Key("init_logit_scale")) ?? Foundation.log(1 / 0.07)
        initLogitBias = try c.decodeIfPresent(Double.self, forKey: Key("init_logit_bias"))
        distillProjectionDim = try c.decodeIfPresent(Int.self, forKey: Key("distill_projection_dim"))

        let v = try c.nestedContainer(keyedBy: Key.self, forKey: Key("vision_cfg"))
        try Self.checkKeys(v, section: "vision_cfg", known: ["image_size", "patch_size", "width", "layers", "head_width", "mlp_ratio"])
        var vision = VisionConfig()
        vision.imageSize = try v.decodeIfPresent(Int.self, forKey: Key("image_size")) ?? vision.imageSize
        vision.patchSize = try v.decodeIfPresent(Int.self, forKey: Key("patch_size")) ?? vision.patchSize
        vision.width = try v.decodeIfPresent(Int.self, forKey: Key("width")) ?? vision.width
        vision.layers = try v.decodeIfPresent(Int.self, forKey: Key("layers")) ?? vision.layers
        vision.headWidth = try v.decodeIfPresent(Int.self, forKey: Key("head_width")) ?? vision.headWidth
        vision.mlpRatio = try v.decodeIfPresent(Double.self, forKey: Key("mlp_ratio")) ?? vision.mlpRatio
        self.vision = vision

        let t = try c.nestedContainer(keyedBy: Key.self, forKey: Key("text_cfg"))
        try Self.checkKeys(t, section: "text_cfg", known: ["context_length", "vocab_size", "width", "heads", "layers", "mlp_ratio"])
        var text = TextConfig()
        text.contextLength = try t.decodeIfPresent(Int.self, forKey: Key("context_length")) ?? text.contextLength
        text.vocabSize = try t.decodeIfPresent(Int.self, forKey: Key("vocab_size")) ?? text.vocabSize
        text.width = try t.decodeIfPresent(Int.self, forKey: Key("width")) ?? text.width
        text.heads = try t.decodeIfPresent(Int.self, forKey: Key("heads")) ?? text.heads
        text.layers = try t.decodeIfPresent(Int.self, forKey: Key("layers")) ?? text.layers
        text.mlpRatio = try t.decodeIfPresent(Double.self, forKey: Key("mlp_ratio")) ?? text.mlpRatio
        self.text = text
        try validate()
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(embedDim, forKey: Key("embed_dim"))
        try c.encode(quickGELU, forKey: Key("quick_gelu"))
        try c.encode(initLogitScale, forKey: Key("init_logit_scale"))
        try c.encodeIfPresent(initLogitBias, forKey: Key("init_logit_bias"))
        try c.encodeIfPresent(distillProjectionDim, forKey: Key("distill_projection_dim"))
        var v = c.nestedContainer(keyedBy: Key.self, forKey: Key("vision_cfg"))
        try v.encode(vision.imageSize, forKey: Key("image_size"))
        try v.encode(vision.patchSize, forKey: Key("patch_size"))
        try v.encode(vision.width, forKey: Key("width"))
        try v.encode(vision.layers, forKey: Key("layers"))
        try v.encode(vision.headWidth, forKey: Key("head_width"))
        try v.encode(vision.mlpRatio, forKey: Key("mlp_ratio"))
        var t = c.nestedContainer(keyedBy: Key.self, forKey: Key("text_cfg"))
        try t.encode(text.contextLength, forKey: Key("context_length"))
        try t.encode(text.vocabSize, forKey: Key("vocab_size"))
        try t.encode(text.width, forKey: Key("width"))
        try t.encode(text.heads, forKey: Key("heads"))
        try t.encode(text.layers, forKey: Key("layers"))
        try t.encode(text.mlpRatio, forKey: Key("mlp_ratio"))
    }

    /// Checks that the sizes fit together.
    public func validate() throws {
        func require(_ ok: Bool, _ message: String) throws { if !ok { throw ConfigError(message) } }
        try require(embedDim > 0, "embed_dim must be positive, got \(embedDim)")
        try require((distillProjectionDim ?? 1) > 0, "distill_projection_dim must be positive, got \(distillProjectionDim ?? 0)")
        try require(vision.patchSize > 0 && vision.imageSize % vision.patchSize == 0,
                    "vision_cfg.image_size \(vision.imageSize) is not a multiple of patch_size \(vision.patchSize)")
        try require(vision.headWidth > 0 && vision.width % vision.headWidth == 0,
                    "vision_cfg.width \(vision.width) is not a multiple of head_width \(vision.headWidth)")
        try require(vision.layers >= 0 && text.layers >= 0, "layers must not be negative")
        try require(text.heads > 0 && text.width % text.heads == 0, "text_cfg.width \(text.width) is not a multiple of heads \(text.heads)")
        try require(text.contextLength > 0 && text.vocabSize > 0, "text_cfg.context_length and vocab_size must be positive")
    }

    /// Reads an OpenCLIP model-config JSON file (or a fixture `config.json` holding one under `open_clip_model_config`).
    public static func load(_ path: String) throws -> CLIPConfig {
        guard let data = FileManager.default.contents(atPath: path) else { throw ConfigError("\(path): cannot read file") }
        var json = data
        if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let inner = object["open_clip_model_config"] {
            json = try JSONSerialization.data(withJSONObject: inner)
        }
        do {
            return try JSONDecoder().decode(CLIPConfig.self, from: json)
        } catch let error as ConfigError {
            throw ConfigError("\(path): \(error.description)")
        } catch let DecodingError.keyNotFound(key, context) {
            throw ConfigError("\(path): missing key \((context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: "."))")
        } catch let DecodingError.typeMismatch(_, context) {
            throw ConfigError("\(path): wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))")
        } catch {
            throw ConfigError("\(path): not a valid model config JSON (\(error.localizedDescription))")
        }
    }
}
