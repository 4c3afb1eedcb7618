import TensorCore

/// OpenCLIP's causal text transformer, for any model family to compose: `token_embedding`, `positional_embedding`, the
/// transformer, `ln_final` and `text_projection`, registered in that order under the builder's scope (CLIP: the root,
/// as OpenCLIP's `CLIP` keeps them; a `TextTransformer` tower: `text`).
public struct TextTransformerEncoder {
    public let config: TextTransformerConfig
    let tokenEmbedding: Parameter
    let positionalEmbedding: Parameter
    /// The transformer, `ln_final` and `text_projection`.
    var head: ProjectedTransformer

    /// Registers the tower's parameters with OpenCLIP's initialisation; `outputDim` is the projection's (`embed_dim`).
    public init(_ builder: ParameterBuilder, config: TextTransformerConfig, outputDim: Int, activation: Activation = .gelu) {
        self.config = config
        let width = config.width
        tokenEmbedding = builder.parameter("token_embedding.weight", [config.vocabSize, width], .normal(std: 0.02))
        positionalEmbedding = builder.parameter("positional_embedding", [config.contextLength, width], .normal(std: 0.01))
        head = ProjectedTransformer(builder, width: width, layers: config.layers, heads: config.heads, mlpWidth: config.mlpWidth,
                                    activation: activation, initStds: TransformerInitStds(width: width, layers: config.layers),
                                    normName: "ln_final", projectionName: "text_projection", outputDim: outputDim)
    }

    /// The blocks; its `checkpointedBlocks` and `mlpRecomputedBlocks` are this tower's recomputation settings.
    public var transformer: Transformer {
        get { head.transformer }
        set { head.transformer = newValue }
    }

    /// Features [B, outputDim] of token rows `tokens` (B × context_length ids, row-major): each row's end-of-text token
    /// (its largest id, OpenCLIP's argmax pooling) after `ln_final`, projected (the last block computes those rows only).
    public func pooledFeatures(_ tokens: [Int32]) -> Tensor {
        head.pooled(embed(tokens), causal: true, rows: pooledRows(tokens))
    }

    /// Every position [B, L, W] after `ln_final`, unprojected (what a text decoder builds on).
    public func tokenFeatures(_ tokens: [Int32]) -> Tensor {
        head.tokens(embed(tokens), causal: true)
    }

    /// The token embeddings plus the positional embedding, [B, L, W].
    private func embed(_ tokens: [Int32]) -> Tensor {
        let length = config.contextLength
        precondition(tokens.count % length == 0, "text encoder: \(tokens.count) token ids are not a whole number of rows of \(length)")
        return tokenEmbedding.tensor.gatherRows(tokens).reshaped([tokens.count / length, length, config.width]) + positionalEmbedding.tensor
    }

    /// The flattened position of each row's end-of-text token (the first largest id).
    private func pooledRows(_ tokens: [Int32]) -> [Int32] {
        let length = config.contextLength
        return (0..<(tokens.count / length)).map { b in
            var best = 0
            for i in 1..<length where tokens[b * length + i] > tokens[b * length + best] { best = i }
            return Int32(b * length + best)
        }
    }
}
