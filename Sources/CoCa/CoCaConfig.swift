import Checkpoint
import Foundation
import NN
import TrainingKit

/// A CoCa architecture as OpenCLIP's model-config JSON describes it (`embed_dim`, `vision_cfg` with the attentional
/// pooler, `text_cfg` with `embed_cls`, `multimodal_cfg`), with OpenCLIP's defaults for the fields left out.
///
/// Fields OpenCLIP has but SwiftCLIP does not implement are accepted only at their default value; anything else, and
/// any unknown key, is an error naming the key.
public struct CoCaConfig: Equatable, Sendable {
    public var embedDim: Int
    public var quickGELU = false
    public var initLogitScale = Foundation.log(1 / 0.07)
    public var vision: VisionTransformerConfig
    public var text: TextTransformerConfig
    public var multimodal: MultimodalConfig

    /// `multimodal_cfg`: the captioning decoder.
    public struct MultimodalConfig: Equatable, Sendable {
        public var contextLength = 76
        public var vocabSize = 49408
        public var width = 512
        public var heads = 8
        public var layers = 12
        public var mlpRatio = 4.0
        /// Accepted as OpenCLIP's configs give it; the pooler's heads are `vision_cfg.attn_pooler_heads`.
        public var attnPoolerHeads = 8
        public var mlpWidth: Int { Int(Double(width) * mlpRatio) }
        public init() {}
    }

    public init(embedDim: Int, vision: VisionTransformerConfig, text: TextTransformerConfig, multimodal: MultimodalConfig) {
        self.embedDim = embedDim
        self.vision = vision
        self.text = text
        self.multimodal = multimodal
    }
}

extension CoCaConfig {
    /// OpenCLIP fields accepted only at these values (JSON null or the listed literal), by section.
    private static let acceptedOnlyAt: [String: Set<String>] = [
        "": ["cast_dtype:null", "custom_text:true", "init_logit_bias:null"],
        "vision_cfg": ["ls_init_value:null", "patch_dropout:0", "pool_type:tok", "final_ln_after_pool:false",
                       "no_ln_pre:false", "timm_model_name:null", "input_patchnorm:false", "global_average_pool:false",
                       "attentional_pool:true", "output_tokens:true", "output_tokens:false"],
        "text_cfg": ["ls_init_value:null", "embed_cls:true", "no_causal_mask:false", "final_ln_after_pool:false", "proj_bias:false",
                     "proj_type:linear", "output_tokens:true", "output_tokens:false", "hf_model_name:null", "hf_tokenizer_name:null",
                     "tokenizer_kwargs:null", "pool_type:argmax", "pool_type:last"],
        "multimodal_cfg": ["ls_init_value:null", "quick_gelu:false", "dim_head:64"],
    ]

    /// Decodes OpenCLIP's JSON object (as a checkpoint records it).
    public init(json: JSONValue) throws {
        try self.init(section: try ConfigSection(recorded: json))
    }

    /// Decodes OpenCLIP's JSON object (the document of a model-config file).
    public init(section top: ConfigSection) throws {
        try top.check(known: ["embed_dim", "quick_gelu", "init_logit_scale", "vision_cfg", "text_cfg", "multimodal_cfg"],
                      acceptedOnlyAt: Self.acceptedOnlyAt[""]!)
        guard top.contains("embed_dim") else { throw ConfigError("missing key embed_dim") }
        embedDim = try top.int("embed_dim", 0)
        quickGELU = try top.bool("quick_gelu", false)
        initLogitScale = try top.double("init_logit_scale", Foundation.log(1 / 0.07))

        let v = try top.section("vision_cfg")
        try v.check(known: VisionTransformerConfig.sectionKeys.union(["attn_pooler_queries", "attn_pooler_heads"]),
                    acceptedOnlyAt: Self.acceptedOnlyAt["vision_cfg"]!)
        if !v.contains("attentional_pool") { throw ConfigError("vision_cfg.attentional_pool must be true for CoCa") }
        vision = try VisionTransformerConfig(section: v)
        vision.attentionalPool = AttentionalPoolerShape(queries: try v.int("attn_pooler_queries", 256), heads: try v.int("attn_pooler_heads", 8))

        let t = try top.section("text_cfg")
        try t.check(known: TextTransformerConfig.sectionKeys.union(["pad_id"]), acceptedOnlyAt: Self.acceptedOnlyAt["text_cfg"]!)
        if !t.contains("embed_cls") { throw ConfigError("text_cfg.embed_cls must be true for CoCa") }
        text = try TextTransformerConfig(section: t)
        text.embedCls = true
        text.padId = try t.int("pad_id", text.padId)

        let m = try top.section("multimodal_cfg")
        try m.check(known: ["context_length", "vocab_size", "width", "heads", "layers", "mlp_ratio", "attn_pooler_heads"],
                    acceptedOnlyAt: Self.acceptedOnlyAt["multimodal_cfg"]!)
        multimodal = MultimodalConfig()
        multimodal.contextLength = try m.int("context_length", multimodal.contextLength)
        multimodal.vocabSize = try m.int("vocab_size", multimodal.vocabSize)
        multimodal.width = try m.int("width", multimodal.width)
        multimodal.heads = try m.int("heads", multimodal.heads)
        multimodal.layers = try m.int("layers", multimodal.layers)
        multimodal.mlpRatio = try m.double("mlp_ratio", multimodal.mlpRatio)
        multimodal.attnPoolerHeads = try m.int("attn_pooler_heads", multimodal.attnPoolerHeads)
        try validate()
    }

    /// OpenCLIP's JSON object for this config (what `init(json:)` reads back; checkpoints record it).
    public var json: JSONValue {
        let pool = vision.attentionalPool ?? AttentionalPoolerShape()
        func int(_ i: Int) -> JSONValue { .integer(Int64(i)) }
        return .object([
            "embed_dim": int(embedDim), "quick_gelu": .bool(quickGELU), "init_logit_scale": .double(initLogitScale), "custom_text": .bool(true),
            "vision_cfg": .object(["image_size": int(vision.imageSize), "patch_size": int(vision.patchSize), "width": int(vision.width),
                                   "layers": int(vision.layers), "head_width": int(vision.headWidth), "mlp_ratio": .double(vision.mlpRatio),
                                   "attentional_pool": .bool(true), "attn_pooler_queries": int(pool.queries),
                                   "attn_pooler_heads": int(pool.heads)]),
            "text_cfg": .object(["context_length": int(text.contextLength), "vocab_size": int(text.vocabSize), "width": int(text.width),
                                 "heads": int(text.heads), "layers": int(text.layers), "mlp_ratio": .double(text.mlpRatio),
                                 "embed_cls": .bool(true), "pad_id": int(text.padId)]),
            "multimodal_cfg": .object(["context_length": int(multimodal.contextLength), "vocab_size": int(multimodal.vocabSize),
                                       "width": int(multimodal.width), "heads": int(multimodal.heads), "layers": int(multimodal.layers),
                                       "mlp_ratio": .double(multimodal.mlpRatio), "attn_pooler_heads": int(multimodal.attnPoolerHeads)]),
        ])
    }

    /// Checks that the sizes fit together.
    public func validate() throws {
        func require(_ ok: Bool, _ message: String) throws { if !ok { throw ConfigError(message) } }
        let pool = vision.attentionalPool ?? AttentionalPoolerShape()
        try require(embedDim > 0, "embed_dim must be positive, got \(embedDim)")
        try vision.validate()
        try text.validate()
        try require(pool.queries >= 2, "vision_cfg.attn_pooler_queries must be at least 2 (one latent, one token), got \(pool.queries)")
        try require(pool.heads > 0 && embedDim % pool.heads == 0, "embed_dim \(embedDim) is not a multiple of vision_cfg.attn_pooler_heads \(pool.heads)")
        try require(text.contextLength > 1, "text_cfg.context_length must exceed 1")
        try require(multimodal.heads > 0 && multimodal.width % multimodal.heads == 0,
                    "multimodal_cfg.width \(multimodal.width) is not a multiple of heads \(multimodal.heads)")
        try require(multimodal.width == embedDim && text.width == multimodal.width,
                    "multimodal_cfg.width \(multimodal.width) must equal embed_dim \(embedDim) and text_cfg.width \(text.width) (the decoder reads both towers' tokens)")
        try require(multimodal.layers >= 0, "multimodal_cfg.layers must not be negative")
    }

    /// Reads an OpenCLIP CoCa config JSON file (or a fixture `config.json` holding one under `open_clip_model_config`).
    public static func load(_ path: String) throws -> CoCaConfig {
        do { return try CoCaConfig(section: try ConfigSection.document(path: path)) } catch let error as ConfigError {
            throw ConfigError("\(path): \(error.description)")
        }
    }

    /// Whether the JSON file describes a CoCa model (OpenCLIP's sign: a `multimodal_cfg`).
    public static func isCoCa(_ path: String) -> Bool {
        (try? ConfigSection.document(path: path))?.contains("multimodal_cfg") ?? false
    }
}
