import NN
import TensorCore

/// OpenCLIP's `CLIP`: a vision transformer and a text transformer projecting into one embedding space.
///
/// Parameters are registered under OpenCLIP's state-dict keys in forward order (vision, text,
/// `logit_scale`), all in one `ParameterStore` allocation.
public final class CLIPModel {
    public let config: CLIPConfig
    public let parameters: ParameterStore

    // Vision tower (`visual.`).
    let conv1: Parameter
    let classEmbedding: Parameter
    let visualPositionalEmbedding: Parameter
    let lnPre: LayerNorm
    var visualTransformer: Transformer
    let lnPost: LayerNorm
    let visualProjection: Parameter

    // Text tower.
    let tokenEmbedding: Parameter
    let positionalEmbedding: Parameter
    var textTransformer: Transformer
    let lnFinal: LayerNorm
    let textProjection: Parameter

    /// Log-space temperature; the loss uses its exponential.
    public let logitScale: Parameter
    /// SigLIP's learnable bias, present when the config has `init_logit_bias`.
    public let logitBias: Parameter?

    /// Builds the model with OpenCLIP's initialisation drawn from `seed`.
    public init(config: CLIPConfig, seed: UInt64 = 0) {
        self.config = config
        let store = ParameterStore()
        parameters = store
        let root = ParameterBuilder(store: store, seed: seed)
        let activation: Activation = config.quickGELU ? .quickGELU : .gelu

        let v = config.vision, visual = root.scope("visual")
        let scale = 1 / Float(v.width).squareRoot()
        conv1 = visual.parameter("conv1.weight", [v.width, 3, v.patchSize, v.patchSize],
                                 .pytorchDefault(fanIn: 3 * v.patchSize * v.patchSize))
        classEmbedding = visual.parameter("class_embedding", [v.width], .normal(std: scale))
        visualPositionalEmbedding = visual.parameter("positional_embedding", [v.tokens, v.width], .normal(std: scale))
        lnPre = LayerNorm(visual.scope("ln_pre"), width: v.width)
        visualTransformer = Transformer(visual.scope("transformer"), width: v.width, layers: v.layers, heads: v.heads,
                                        mlpWidth: v.mlpWidth, activation: activation)
        lnPost = LayerNorm(visual.scope("ln_post"), width: v.width)
        visualProjection = visual.parameter("proj", [v.width, config.embedDim], .normal(std: scale))

        let t = config.text
        tokenEmbedding = root.parameter("token_embedding.weight", [t.vocabSize, t.width], .normal(std: 0.02))
        positionalEmbedding = root.parameter("positional_embedding", [t.contextLength, t.width], .normal(std: 0.01))
        textTransformer = Transformer(root.scope("transformer"), width: t.width, layers: t.layers, heads: t.heads,
                                      mlpWidth: t.mlpWidth, activation: activation,
                                      initStds: TransformerInitStds(width: t.width, layers: t.layers))
        lnFinal = LayerNorm(root.scope("ln_final"), width: t.width)
        textProjection = root.parameter("text_projection", [t.width, config.embedDim], .normal(std: 1 / Float(t.width).squareRoot()))

        logitScale = root.parameter("logit_scale", [], .zeros)
        logitBias = config.initLogitBias.map { _ in root.parameter("logit_bias", [], .zeros) }
        store.seal()
        logitScale.pointer.pointee = Float(config.initLogitScale)
        if let bias = config.initLogitBias { logitBias!.pointer.pointee = Float(bias) }
    }

    /// Image embeddings [B, embed_dim] of normalised images [B, 3, H, W] (L2-normalised when `normalize`).
    public func encodeImage(_ images: Tensor, normalize: Bool = true) -> Tensor {
        let v = config.vision
        precondition(images.rank == 4 && images.shape[1] == 3 && images.shape[2] == v.imageSize && images.shape[3] == v.imageSize,
                     "encodeImage: images of shape \(images.shape), the model expects [B, 3, \(v.imageSize), \(v.imageSize)]")
        let batch = images.shape[0]
        let patches = Tensor.conv2d(images, weight: conv1.tensor, stride: v.patchSize)      // [B, W, g, g]
            .reshaped([batch, v.width, v.tokens - 1]).permuted([0, 2, 1])                 // [B, g², W]
        let classToken = classEmbedding.tensor.reshaped([1, 1, v.width]).expanded(to: [batch, 1, v.width])
        let x = Tensor.concatenate([classToken, patches], axis: 1) + visualPositionalEmbedding.tensor
        // Only the class token's row is read after the transformer (ln_post is per token), so its last block
        // computes only that row's query, attention and MLP.
        let classRows = (0..<batch).map { Int32($0 * v.tokens) }
        let pooled = lnPost(visualTransformer(lnPre(x), causal: false, keepingRows: classRows))
        let features = Tensor.matmul(pooled, visualProjection.tensor)
        return normalize ? features.l2Normalized() : features
    }

    /// Text embeddings [B, embed_dim] of token rows `tokens` (B × context_length ids, row-major).
    ///
    /// Pools at `argmax(ids)` per row (the end-of-text token has the largest id), as OpenCLIP does.
    public func encodeText(_ tokens: [Int32], normalize: Bool = true) -> Tensor {
        let t = config.text
        precondition(tokens.count % t.contextLength == 0,
                     "encodeText: \(tokens.count) token ids are not a whole number of rows of \(t.contextLength)")
        let batch = tokens.count / t.contextLength
        let x = tokenEmbedding.tensor.gatherRows(tokens).reshaped([batch, t.contextLength, t.width]) + positionalEmbedding.tensor
        // The pooled row of each text is its end-of-text token's (the largest id), as OpenCLIP's argmax pooling.
        var poolRows = [Int32](repeating: 0, count: batch)
        for b in 0..<batch {
            var best = 0
            for i in 1..<t.contextLength where tokens[b * t.contextLength + i] > tokens[b * t.contextLength + best] { best = i }
            poolRows[b] = Int32(b * t.contextLength + best)
        }
        // Only the pooled rows are read after the transformer, so its last block computes only their queries onwards.
        let pooled = lnFinal(textTransformer(x, causal: true, keepingRows: poolRows))
        let features = Tensor.matmul(pooled, textProjection.tensor)
        return normalize ? features.l2Normalized() : features
    }

    /// Whether transformer blocks are recomputed in backward instead of keeping their activations (all of them).
    public var gradientCheckpointing: Bool {
        get { checkpointedBlocksPerTower > 0 }
        set { checkpointedBlocksPerTower = newValue ? Int.max : 0 }
    }

    /// How many blocks of each tower, from its first, are recomputed in backward (Int.max: all).
    public var checkpointedBlocksPerTower: Int {
        get { visualTransformer.checkpointedBlocks }
        set { visualTransformer.checkpointedBlocks = newValue; textTransformer.checkpointedBlocks = newValue }
    }

    /// How many blocks of each tower, from its first, recompute their MLP's hidden layer in backward (Int.max: all).
    public var mlpRecomputedBlocksPerTower: Int {
        get { visualTransformer.mlpRecomputedBlocks }
        set { visualTransformer.mlpRecomputedBlocks = newValue; textTransformer.mlpRecomputedBlocks = newValue }
    }

    /// Clamps `logit_scale` to [0, ln 100] as OpenCLIP's trainer does after every optimizer step.
    public func clampLogitScale() {
        logitScale.pointer.pointee = min(max(logitScale.pointer.pointee, 0), Float(4.605_170_185_988_092))
    }
}
