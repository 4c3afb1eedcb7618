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
    private static let acceptedOnlyAt: [String: Set<String>] = [
        "": ["custom_text:false", "cast_dtype:null"],
        "vision_cfg": ["ls_init_value:null", "patch_dropout:0", "attentional_pool:false",
                       "pool_type:tok", "final_ln_after_pool:false", "output_tokens:false", "no_ln_pre:false",
                       "timm_model_name:null", "input_patchnorm:false", "global_average_pool:false", "layers_is_list:false"],
        "text_cfg": ["ls_init_value:null", "embed_cls:false", "pad_id:0", "no_causal_mask:false", "final_ln_after_pool:false",
                     "pool_type:argmax", "proj_bias:false", "proj_type:linear", "output_tokens:false", "hf_model_name:null",
                     "hf_tokenizer_name:null", "tokenizer_kwargs:null"],
    ]

    public init(from decoder: Decoder) throws {
        try self.init(section: try ConfigSection(try ConfigValue(from: decoder), name: ""))
    }

    /// Reads OpenCLIP's JSON object (the document of a model-config file).
    public init(section top: ConfigSection) throws {
        try top.check(known: ["embed_dim", "quick_gelu", "init_logit_scale", "init_logit_bias", "distill_projection_dim", "vision_cfg", "text_cfg"],
                      acceptedOnlyAt: Self.acceptedOnlyAt[""]!)
        guard top.contains("embed_dim") else { throw ConfigError("missing key embed_dim") }
        embedDim = try top.int("embed_dim", 0)
        quickGELU = try top.bool("quick_gelu", false)
        initLogitScale = try top.double("init_logit_scale", Foundation.log(1 / 0.07))
        initLogitBias = try top.optionalDouble("init_logit_bias")
        distillProjectionDim = try top.optionalInt("distill_projection_dim")
        let v = try top.section("vision_cfg"), t = try top.section("text_cfg")
        try v.check(known: VisionTransformerConfig.sectionKeys, acceptedOnlyAt: Self.acceptedOnlyAt["vision_cfg"]!)
        try t.check(known: TextTransformerConfig.sectionKeys, acceptedOnlyAt: Self.acceptedOnlyAt["text_cfg"]!)
        vision = try VisionConfig(section: v)
        text = try TextConfig(section: t)
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
        guard embedDim > 0 else { throw ConfigError("embed_dim must be positive, got \(embedDim)") }
        guard (distillProjectionDim ?? 1) > 0 else { throw ConfigError("distill_projection_dim must be positive, got \(distillProjectionDim ?? 0)") }
        try vision.validate()
        try text.validate()
    }

    /// Reads an OpenCLIP model-config JSON file (or a fixture `config.json` holding one under `open_clip_model_config`).
    public static func load(_ path: String) throws -> CLIPConfig {
        do { return try CLIPConfig(section: try ConfigSection.document(path: path)) } catch let error as ConfigError {
            throw ConfigError("\(path): \(error.description)")
        }
    }
}
