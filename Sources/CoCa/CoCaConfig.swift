import Checkpoint
import Foundation
import NN

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
    private static let defaultOnly: [String: Set<String>] = [
        "": ["cast_dtype:null", "custom_text:true", "init_logit_bias:null"],
        "vision_cfg": ["ls_init_value:null", "patch_dropout:0", "patch_dropout:0.0", "pool_type:tok", "final_ln_after_pool:false",
                       "no_ln_pre:false", "timm_model_name:null", "input_patchnorm:false", "global_average_pool:false",
                       "attentional_pool:true", "output_tokens:true", "output_tokens:false"],
        "text_cfg": ["ls_init_value:null", "embed_cls:true", "no_causal_mask:false", "final_ln_after_pool:false", "proj_bias:false",
                     "proj_type:linear", "output_tokens:true", "output_tokens:false", "hf_model_name:null", "hf_tokenizer_name:null",
                     "tokenizer_kwargs:null", "pool_type:argmax", "pool_type:last"],
        "multimodal_cfg": ["ls_init_value:null", "quick_gelu:false", "dim_head:64"],
    ]

    private static func literal(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .integer(i): return String(i)
        case let .unsigned(u): return String(u)
        case let .double(d): return String(d)
        case let .string(s): return s
        case .array, .object: return "<object>"
        }
    }

    /// The object's values by key, after checking every key is known or at its only accepted value.
    private static func section(_ value: JSONValue?, _ name: String, known: Set<String>) throws -> [String: JSONValue] {
        guard case let .object(object) = value else {
            throw ConfigError(name.isEmpty ? "not a JSON object" : "\(name) is missing or not an object (a CoCa config has vision_cfg, text_cfg and multimodal_cfg)")
        }
        for (key, value) in object where !known.contains(key) {
            let allowed = defaultOnly[name, default: []], text = literal(value)
            let path = name.isEmpty ? key : "\(name).\(key)"
            if allowed.contains("\(key):\(text)") { continue }
            if allowed.contains(where: { $0.hasPrefix(key + ":") }) { throw ConfigError("\(path) = \(text) is not supported") }
            throw ConfigError("unknown key \(path)")
        }
        return object
    }

    private static func int(_ object: [String: JSONValue], _ section: String, _ key: String, _ fallback: Int) throws -> Int {
        switch object[key] {
        case nil: return fallback
        case let .integer(i)?: return Int(i)
        case let .double(d)? where d.rounded() == d: return Int(d)
        default: throw ConfigError("\(section.isEmpty ? "" : section + ".")\(key) is not an integer")
        }
    }

    private static func double(_ object: [String: JSONValue], _ section: String, _ key: String, _ fallback: Double) throws -> Double {
        switch object[key] {
        case nil: return fallback
        case let .integer(i)?: return Double(i)
        case let .double(d)?: return d
        default: throw ConfigError("\(section.isEmpty ? "" : section + ".")\(key) is not a number")
        }
    }

    /// Decodes OpenCLIP's JSON object.
    public init(json: JSONValue) throws {
        let top = try Self.section(json, "", known: ["embed_dim", "quick_gelu", "init_logit_scale", "vision_cfg", "text_cfg", "multimodal_cfg"])
        guard top["embed_dim"] != nil else { throw ConfigError("missing key embed_dim") }
        embedDim = try Self.int(top, "", "embed_dim", 0)
        switch top["quick_gelu"] {
        case nil: quickGELU = false
        case let .bool(b)?: quickGELU = b
        default: throw ConfigError("quick_gelu is not true or false")
        }
        initLogitScale = try Self.double(top, "", "init_logit_scale", Foundation.log(1 / 0.07))

        let v = try Self.section(top["vision_cfg"], "vision_cfg", known: ["image_size", "patch_size", "width", "layers", "head_width",
                                                                         "mlp_ratio", "attn_pooler_queries", "attn_pooler_heads"])
        if v["attentional_pool"] == nil { throw ConfigError("vision_cfg.attentional_pool must be true for CoCa") }
        vision = VisionTransformerConfig()
        vision.imageSize = try Self.int(v, "vision_cfg", "image_size", vision.imageSize)
        vision.patchSize = try Self.int(v, "vision_cfg", "patch_size", vision.patchSize)
        vision.width = try Self.int(v, "vision_cfg", "width", vision.width)
        vision.layers = try Self.int(v, "vision_cfg", "layers", vision.layers)
        vision.headWidth = try Self.int(v, "vision_cfg", "head_width", vision.headWidth)
        vision.mlpRatio = try Self.double(v, "vision_cfg", "mlp_ratio", vision.mlpRatio)
        vision.attentionalPool = AttentionalPoolerShape(queries: try Self.int(v, "vision_cfg", "attn_pooler_queries", 256),
                                                        heads: try Self.int(v, "vision_cfg", "attn_pooler_heads", 8))

        let t = try Self.section(top["text_cfg"], "text_cfg", known: ["context_length", "vocab_size", "width", "heads", "layers",
                                                                     "mlp_ratio", "pad_id"])
        if t["embed_cls"] == nil { throw ConfigError("text_cfg.embed_cls must be true for CoCa") }
        text = TextTransformerConfig()
        text.embedCls = true
        text.contextLength = try Self.int(t, "text_cfg", "context_length", text.contextLength)
        text.vocabSize = try Self.int(t, "text_cfg", "vocab_size", text.vocabSize)
        text.width = try Self.int(t, "text_cfg", "width", text.width)
        text.heads = try Self.int(t, "text_cfg", "heads", text.heads)
        text.layers = try Self.int(t, "text_cfg", "layers", text.layers)
        text.mlpRatio = try Self.double(t, "text_cfg", "mlp_ratio", text.mlpRatio)
        text.padId = try Self.int(t, "text_cfg", "pad_id", text.padId)

        let m = try Self.section(top["multimodal_cfg"], "multimodal_cfg", known: ["context_length", "vocab_size", "width", "heads", "layers",
                                                                                 "mlp_ratio", "attn_pooler_heads"])
        multimodal = MultimodalConfig()
        multimodal.contextLength = try Self.int(m, "multimodal_cfg", "context_length", multimodal.contextLength)
        multimodal.vocabSize = try Self.int(m, "multimodal_cfg", "vocab_size", multimodal.vocabSize)
        multimodal.width = try Self.int(m, "multimodal_cfg", "width", multimodal.width)
        multimodal.heads = try Self.int(m, "multimodal_cfg", "heads", multimodal.heads)
        multimodal.layers = try Self.int(m, "multimodal_cfg", "layers", multimodal.layers)
        multimodal.mlpRatio = try Self.double(m, "multimodal_cfg", "mlp_ratio", multimodal.mlpRatio)
        multimodal.attnPoolerHeads = try Self.int(m, "multimodal_cfg", "attn_pooler_heads", multimodal.attnPoolerHeads)
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
        try require(vision.patchSize > 0 && vision.imageSize % vision.patchSize == 0,
                    "vision_cfg.image_size \(vision.imageSize) is not a multiple of patch_size \(vision.patchSize)")
        try require(vision.headWidth > 0 && vision.width % vision.headWidth == 0,
                    "vision_cfg.width \(vision.width) is not a multiple of head_width \(vision.headWidth)")
        try require(pool.queries >= 2, "vision_cfg.attn_pooler_queries must be at least 2 (one latent, one token), got \(pool.queries)")
        try require(pool.heads > 0 && embedDim % pool.heads == 0, "embed_dim \(embedDim) is not a multiple of vision_cfg.attn_pooler_heads \(pool.heads)")
        try require(text.heads > 0 && text.width % text.heads == 0, "text_cfg.width \(text.width) is not a multiple of heads \(text.heads)")
        try require(text.contextLength > 1 && text.vocabSize > 0, "text_cfg.context_length must exceed 1 and vocab_size be positive")
        try require(multimodal.heads > 0 && multimodal.width % multimodal.heads == 0,
                    "multimodal_cfg.width \(multimodal.width) is not a multiple of heads \(multimodal.heads)")
        try require(multimodal.width == embedDim && text.width == multimodal.width,
                    "multimodal_cfg.width \(multimodal.width) must equal embed_dim \(embedDim) and text_cfg.width \(text.width) (the decoder reads both towers' tokens)")
        try require(vision.layers >= 0 && text.layers >= 0 && multimodal.layers >= 0, "layers must not be negative")
    }

    /// Reads an OpenCLIP CoCa config JSON file (or a fixture `config.json` holding one under `open_clip_model_config`).
    public static func load(_ path: String) throws -> CoCaConfig {
        do { return try CoCaConfig(json: try modelJSON(path)) } catch let error as ConfigError {
            throw ConfigError("\(path): \(error.description)")
        }
    }

    /// Whether the JSON file describes a CoCa model (OpenCLIP's sign: a `multimodal_cfg`).
    public static func isCoCa(_ path: String) -> Bool {
        (try? modelJSON(path))?["multimodal_cfg"] != nil
    }

    /// The model config in the file: the whole document, or its `open_clip_model_config` (a fixture's `config.json`).
    private static func modelJSON(_ path: String) throws -> JSONValue {
        guard let data = FileManager.default.contents(atPath: path) else { throw ConfigError("cannot read file") }
        guard let document = try? JSONDecoder().decode(JSONValue.self, from: data) else { throw ConfigError("not valid JSON") }
        return document["open_clip_model_config"] ?? document
    }
}
