
/// Sizes of a CLIP architecture that planning needs, derived from its config without building the model.
public struct ModelSize: Sendable {
    public let config: CLIPConfig
    /// The positions each caption of a batch fills, end-of-text token included (the text tower stops at each caption's
    /// end); nil: every caption fills the context.
    public let captionLengths: [Int]?

    public init(config: CLIPConfig, captionLengths: [Int]? = nil) {
        self.config = config
        self.captionLengths = captionLengths
    }

    /// Exact parameter count, as `CLIPModel(config:).parameters.count`.
    public var parameterCount: Int { gradientSources.reduce(0) { $0 + $1.elements } }

    /// Element counts of one block's parameters in registration order: ln_1, attention in/out projections, ln_2,
    /// c_fc, c_proj (weights before biases).
    static func blockParameterCounts(width w: Int, mlp: Int) -> [Int] {
        [w, w, 3 * w * w, 3 * w, w * w, w, w, w, mlp * w, mlp, w * mlp, w]
    }

    /// For each of `blockParameterCounts`, the share of the block's backward done when its gradient is final. Backward
    /// runs c_proj, c_fc (ln_2 with it), the output projection, the attention products, then the q|k|v projection
    /// (ln_1 with it); each step's share is its multiply-adds per token.
    static func blockParameterReadiness(width: Int, mlp: Int, tokens: Int) -> [Double] {
        let w = Double(width), m = Double(mlp), t = Double(tokens)
        let total = 2 * w * m + 4 * w * w + 2 * t * w
        let mlpDone = 2 * w * m / total, outDone = (2 * w * m + w * w) / total, cProjDone = w * m / total
        return [1, 1, 1, 1, outDone, outDone, mlpDone, mlpDone, mlpDone, mlpDone, cProjDone, cProjDone]
    }

    /// One parameter as gradient bucketing sees it: its size and when backward finishes its gradient.
    public struct GradientSource: Sendable, Equatable {
        public let elements: Int
        /// Share of backward done when the gradient is final; 1 for the loss's own parameters (`logit_scale`), whose
        /// gradient comes from the loss outside the tape and is reported after backward.
        public let readyAfter: Double
    }

    /// The parameters in registration order (that of `CLIPModel(config:).parameters`, which the trainer's
    /// `GradientBucketPlan` groups into buckets), each with when backward finishes its gradient. Backward runs in
    /// reverse of forward: the text tower (encoded second) first, then the image tower, each from its projection down
    /// to its embeddings; a tower's share of backward is its share of the forward multiply-adds, spread evenly over its
    /// blocks, and within a block its layers' multiply-adds (`blockParameterReadiness`); the text tower's as far as the
    /// batch's captions reach (`captionLengths`).
    public var gradientSources: [GradientSource] {
        let v = config.vision, t = config.text, e = config.embedDim
        let macs = config.forwardMACsPerTower(captionLengths: captionLengths)
        let textShare = macs.text / max(macs.image + macs.text, 1)
        func tower(start: Double, share: Double, layers: Int, width: Int, mlp: Int, tokens: Int, embeddings: [Int],
                   head: [Int]) -> [GradientSource] {
            let block = Self.blockParameterCounts(width: width, mlp: mlp)
            let within = Self.blockParameterReadiness(width: width, mlp: mlp, tokens: tokens)
            var sources = embeddings.map { GradientSource(elements: $0, readyAfter: start + share) }
            for k in 0..<layers {  // block k starts once blocks layers-1 ... k+1 are done
                sources += zip(block, within).map { count, done in
                    GradientSource(elements: count, readyAfter: start + share * (Double(layers - 1 - k) + done) / Double(max(layers, 1)))
                }
            }
            return sources + head.map { GradientSource(elements: $0, readyAfter: start) }
        }
        let image = tower(start: textShare, share: 1 - textShare, layers: v.layers, width: v.width, mlp: v.mlpWidth, tokens: v.tokens,
                          embeddings: [v.width * 3 * v.patchSize * v.patchSize, v.width, v.tokens * v.width, v.width, v.width],
                          head: [v.width, v.width, v.width * e])  // conv1, class/positional embeddings, ln_pre; ln_post, proj
        let text = tower(start: 0, share: textShare, layers: t.layers, width: t.width, mlp: t.mlpWidth, tokens: t.contextLength,
                         embeddings: [t.vocabSize * t.width, t.contextLength * t.width],
                         head: [t.width, t.width, t.width * e])  // token/positional embeddings; ln_final, text_projection
        let loss = [GradientSource(elements: 1, readyAfter: 1)] + (config.initLogitBias == nil ? [] : [GradientSource(elements: 1, readyAfter: 1)])
        return image + text + loss
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
