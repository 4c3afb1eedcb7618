/// An image tower as OpenCLIP's `vision_cfg` describes it (the fields SwiftCLIP implements), with OpenCLIP's defaults.
/// The output dimension and the activation are the model's (`embed_dim`, `quick_gelu`), given to the encoder apart.
public struct VisionTransformerConfig: Codable, Equatable, Sendable {
    public var imageSize: Int = 224
    public var patchSize: Int = 16
    public var width: Int = 768
    public var layers: Int = 12
    public var headWidth: Int = 64
    public var mlpRatio: Double = 4.0
    /// `attentional_pool` (with `attn_pooler_queries`, `attn_pooler_heads`): learned queries attend over every token
    /// before `ln_post`, as in CoCa; nil: class-token pooling.
    public var attentionalPool: AttentionalPoolerShape?
    public var heads: Int { width / headWidth }
    public var mlpWidth: Int { Int(Double(width) * mlpRatio) }
    public var gridSize: Int { imageSize / patchSize }
    /// Patches plus the class token.
    public var tokens: Int { gridSize * gridSize + 1 }

    public init() {}
}

/// A causal text tower as OpenCLIP's `text_cfg` describes it (the fields SwiftCLIP implements), with OpenCLIP's defaults.
///
/// CoCa's text tower adds `embed_cls` (a learned token appended after the text and pooled instead of the end-of-text
/// token) and `pad_id` (its attention mask ignores padding, see `TextTransformerEncoder.clsPooledAndTokenFeatures`).
public struct TextTransformerConfig: Codable, Equatable, Sendable {
    public var contextLength: Int = 77
    public var vocabSize: Int = 49408
    public var width: Int = 512
    public var heads: Int = 8
    public var layers: Int = 12
    public var mlpRatio: Double = 4.0
    public var embedCls = false
    public var padId = 0
    public var mlpWidth: Int { Int(Double(width) * mlpRatio) }

    public init() {}
}

/// OpenCLIP's `AttentionalPooler` sizes (`attn_pooler_queries`, `attn_pooler_heads`); its width is the model's
/// `embed_dim`.
public struct AttentionalPoolerShape: Codable, Equatable, Sendable {
    public var queries: Int = 256
    public var heads: Int = 8

    public init(queries: Int = 256, heads: Int = 8) {
        self.queries = queries
        self.heads = heads
    }
}
