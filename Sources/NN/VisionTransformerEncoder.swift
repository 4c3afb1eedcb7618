import TensorCore

/// OpenCLIP's `VisionTransformer` with class-token pooling, for any model family to compose: patch embedding `conv1`,
/// `class_embedding`, `positional_embedding`, `ln_pre`, the transformer, `ln_post` and the projection `proj`,
/// registered in that order under the builder's scope (CLIP: `visual`).
public struct VisionTransformerEncoder {
    public let config: VisionTransformerConfig
    /// `conv1`, `class_embedding`, `positional_embedding`, `ln_pre`.
    let embedding: PatchTokenEmbedding
    /// The transformer, `ln_post` and `proj`.
    var head: ProjectedTransformer
    /// What a training forward drops of the patch tokens (nothing by default); evaluation always sees every patch.
    public var patchDropout = PatchDropout()

    /// Registers the tower's parameters with OpenCLIP's initialisation; `outputDim` is the projection's (`embed_dim`).
    public init(_ builder: ParameterBuilder, config: VisionTransformerConfig, outputDim: Int, activation: Activation = .gelu) {
        self.config = config
        let width = config.width
        embedding = PatchTokenEmbedding(builder, channels: 3, height: config.imageSize, width: config.imageSize,
                                        patchSize: config.patchSize, stride: config.patchSize, modelWidth: width)
        head = ProjectedTransformer(builder, width: width, layers: config.layers, heads: config.heads, mlpWidth: config.mlpWidth,
                                    activation: activation, initStds: nil, normName: "ln_post", projectionName: "proj", outputDim: outputDim,
                                    attentionalPool: config.attentionalPool)
    }

    /// The blocks; its `checkpointedBlocks` and `mlpRecomputedBlocks` are this tower's recomputation settings.
    public var transformer: Transformer {
        get { head.transformer }
        set { head.transformer = newValue }
    }

    /// Features [B, outputDim] of normalised images [B, 3, H, W]: the class token after `ln_post`, projected (the last
    /// block computes the class token's row only); with an attentional pooler, its first output. A `training` forward
    /// applies `patchDropout`.
    public func pooledFeatures(_ images: Tensor, training: Bool = false) -> Tensor {
        if head.pooler != nil { return attentionalPooledFeatures(images, training: training).pooled }
        let tokens = embed(images, training: training), count = tokens.shape[1]
        return head.pooled(tokens, causal: false, rows: (0..<images.shape[0]).map { Int32($0 * count) })
    }

    /// CoCa's image tower (`attentional_pool`): the pooler's outputs after `ln_post`; the first one projected is the
    /// image latent [B, outputDim], the others [B, queries - 1, outputDim] are left unprojected (what the decoder reads).
    /// A `training` forward applies `patchDropout`.
    public func attentionalPooledFeatures(_ images: Tensor, training: Bool = false) -> (pooled: Tensor, tokens: Tensor) {
        guard let pooler = head.pooler else { preconditionFailure("vision encoder: built without an attentional pooler") }
        let outputs = head.finalNorm(pooler(head.transformer(embed(images, training: training), causal: false)))   // [B, Q, D]
        let (batch, count, width) = (outputs.shape[0], outputs.shape[1], outputs.shape[2])
        let pooled = Tensor.matmul(outputs.slice(axis: 1, 0..<1).reshaped([batch, width]), head.projection.tensor)
        return (pooled, outputs.slice(axis: 1, 1..<count))
    }

    /// Every token [B, T, W] after `ln_post`, unprojected: the class token at row 0, then the patches row by row (what a
    /// captioner's cross-attention reads).
    public func tokenFeatures(_ images: Tensor) -> Tensor {
        head.tokens(embed(images), causal: false)
    }

    /// `ln_pre` of the class token and the patch embeddings plus the positional embedding, [B, T, W]; in a `training`
    /// forward only the tokens `patchDropout` keeps, [B, K, W] (dropped before `ln_pre`, as OpenCLIP does; the dropped
    /// patches are not embedded at all).
    private func embed(_ images: Tensor, training: Bool = false) -> Tensor {
        let kept = training && patchDropout.isActive ? patchDropout.keptTokens(images: images, tokens: embedding.tokens) : nil
        return embedding.lnPre(embedding.positioned(images, keeping: kept, name: "vision encoder"))
    }
}
