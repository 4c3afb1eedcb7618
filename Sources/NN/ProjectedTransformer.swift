import TensorCore

/// What OpenCLIP's towers share after their embeddings: the transformer, optionally an attentional pooler (`attn_pool`),
/// a final layer norm (`ln_post`, `ln_final`) and the projection of the pooled token (`proj`, `text_projection`),
/// registered in that order.
struct ProjectedTransformer {
    /// The blocks; its `checkpointedBlocks` and `mlpRecomputedBlocks` are the tower's recomputation settings.
    var transformer: Transformer
    /// CoCa's pooler: the final layer norm and the projection then have its width, `outputDim`.
    let pooler: AttentionalPooler?
    let finalNorm: LayerNorm
    let projection: Parameter

    /// Registers `transformer`, then `attn_pool` when `attentionalPool` is given, then the layer norm `normName` and the
    /// projection `projectionName` [W, outputDim] (W: the pooler's width `outputDim` when there is one).
    init(_ builder: ParameterBuilder, width: Int, layers: Int, heads: Int, mlpWidth: Int, activation: Activation,
         initStds: TransformerInitStds?, normName: String, projectionName: String, outputDim: Int,
         attentionalPool: AttentionalPoolerShape? = nil) {
        transformer = Transformer(builder.scope("transformer"), width: width, layers: layers, heads: heads, mlpWidth: mlpWidth,
                                  activation: activation, initStds: initStds)
        pooler = attentionalPool.map { AttentionalPooler(builder.scope("attn_pool"), width: outputDim, contextWidth: width, shape: $0) }
        let pooledWidth = pooler == nil ? width : outputDim
        finalNorm = LayerNorm(builder.scope(normName), width: pooledWidth)
        projection = builder.parameter(projectionName, [pooledWidth, outputDim], .normal(std: 1 / Float(pooledWidth).squareRoot()))
    }

    /// The rows `rows` of the flattened [B·T] positions of x after the transformer and the final layer norm, projected:
    /// [rows.count, outputDim]. Only those rows are read after the transformer (the layer norm is per token), so its last
    /// block computes only their queries, attention and MLP. With `mlpRows`, the other blocks run their MLPs on those
    /// positions only (`Transformer.callAsFunction`).
    func pooled(_ x: Tensor, causal: Bool, rows: [Int32], mlpRows: [Int32]? = nil) -> Tensor {
        Tensor.matmul(finalNorm(transformer(x, causal: causal, keepingRows: rows, mlpRows: mlpRows)), projection.tensor)
    }

    /// Every position of x [B, T, W] after the transformer and the final layer norm, unprojected.
    func tokens(_ x: Tensor, causal: Bool) -> Tensor {
        finalNorm(transformer(x, causal: causal))
    }
}
