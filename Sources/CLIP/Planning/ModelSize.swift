
/// Sizes of a CLIP architecture that planning needs, derived from its config without building the model.
public struct ModelSize: Sendable {
    public let config: CLIPConfig

    public init(config: CLIPConfig) { self.config = config }

    /// Parameters of one pre-norm transformer block: attention in/out projections with biases, two layer norms,
    /// and the MLP with biases.
    static func blockParameters(width w: Int, mlp: Int) -> Int {
        4 * w * w + 4 * w          // in_proj (3w×w + 3w), out_proj (w×w + w)
            + 2 * w * mlp + mlp + w // c_fc (mlp×w + mlp), c_proj (w×mlp + w)
            + 4 * w                 // ln_1, ln_2
    }

    /// Exact parameter count, as `CLIPModel(config:).parameters.count`.
    public var parameterCount: Int {
        let v = config.vision, t = config.text, e = config.embedDim
        let vision = v.width * 3 * v.patchSize * v.patchSize   // conv1, no bias
            + v.width + v.tokens * v.width                     // class and positional embeddings
            + 2 * v.width + 2 * v.width                        // ln_pre, ln_post
            + v.layers * Self.blockParameters(width: v.width, mlp: v.mlpWidth)
            + v.width * e                                      // proj
        let text = t.vocabSize * t.width + t.contextLength * t.width
            + t.layers * Self.blockParameters(width: t.width, mlp: t.mlpWidth)
            + 2 * t.width + t.width * e                        // ln_final, text_projection
        return vision + text + 1 + (config.initLogitBias == nil ? 0 : 1)
    }

    /// Floats the tape keeps per token per layer for backward: the block's input (w), q|k|v (3w), the residual after
    /// attention (w) and the MLP pre-activation (mlp), plus the two layer norms' row statistics (4) and each head's
    /// softmax row statistics (2 × heads). Layer-norm outputs, the attention output and probabilities and the MLP
    /// activation are recomputed in backward (see `ResidualAttentionBlock`).
    public static func activationFloatsPerTokenPerLayer(width: Int, mlp: Int, heads: Int) -> Int {
        5 * width + mlp + 4 + 2 * heads
    }

    /// Estimated activation bytes per sample kept for backward by both towers (float32).
    public var activationBytesPerSample: Double {
        let v = config.vision, t = config.text
        let vision = v.layers * v.tokens * Self.activationFloatsPerTokenPerLayer(width: v.width, mlp: v.mlpWidth, heads: v.heads)
            + 3 * v.imageSize * v.imageSize + 2 * v.tokens * v.width   // input image, patch embedding and ln_pre output
        let text = t.layers * t.contextLength * Self.activationFloatsPerTokenPerLayer(width: t.width, mlp: t.mlpWidth, heads: t.heads)
            + 2 * t.contextLength * t.width                              // token + positional embedding sum
        return Double(vision + text) * 4
    }
}
