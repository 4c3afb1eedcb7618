import TensorCore

/// OpenCLIP's `AttentionalPooler` (CoCa's image pooling): `queries` learned vectors of the pooler's width, after
/// `ln_q`, attend over `ln_k` of every image token -> [B, queries, width].
///
/// Keys in registration order: `query`, the attention (`attn.in_proj_weight` when the tokens have the pooler's width,
/// else `nn.MultiheadAttention`'s separate `attn.q_proj_weight`, `attn.k_proj_weight`, `attn.v_proj_weight`; then
/// `attn.in_proj_bias` and `attn.out_proj`), `ln_q`, `ln_k`.
public struct AttentionalPooler {
    public let query: Parameter
    /// Packed q | k | v rows, or the query rows alone when the key and value projections are separate.
    let queryOrPackedWeight: Parameter
    /// The separate key and value projections [width, contextWidth] each (nil when packed).
    let keyValueWeights: (key: Parameter, value: Parameter)?
    let inProjBias: Parameter
    let outProj: Linear
    let lnQ: LayerNorm, lnK: LayerNorm
    public let width: Int, heads: Int

    /// A pooler of `width` (the model's `embed_dim`) over tokens of `contextWidth`, with PyTorch's initialisation.
    public init(_ builder: ParameterBuilder, width: Int, contextWidth: Int, shape: AttentionalPoolerShape) {
        precondition(shape.heads > 0 && width % shape.heads == 0, "attentional pooler: width \(width) is not divisible by \(shape.heads) heads")
        self.width = width
        heads = shape.heads
        query = builder.parameter("query", [shape.queries, width], .normal(std: 1))
        let attention = builder.scope("attn")
        if contextWidth == width {
            queryOrPackedWeight = attention.parameter("in_proj_weight", [3 * width, width], .xavierUniform(fanIn: width, fanOut: 3 * width))
            keyValueWeights = nil
        } else {
            queryOrPackedWeight = attention.parameter("q_proj_weight", [width, width], .xavierUniform(fanIn: width, fanOut: width))
            keyValueWeights = (attention.parameter("k_proj_weight", [width, contextWidth], .xavierUniform(fanIn: contextWidth, fanOut: width)),
                               attention.parameter("v_proj_weight", [width, contextWidth], .xavierUniform(fanIn: contextWidth, fanOut: width)))
        }
        inProjBias = attention.parameter("in_proj_bias", [3 * width], .zeros)
        outProj = Linear(attention.scope("out_proj"), inFeatures: width, outFeatures: width, biasInit: .zeros)
        lnQ = LayerNorm(builder.scope("ln_q"), width: width)
        lnK = LayerNorm(builder.scope("ln_k"), width: contextWidth)
    }

    /// Every parameter, in registration order.
    public var parameters: [Parameter] {
        [query, queryOrPackedWeight] + (keyValueWeights.map { [$0.key, $0.value] } ?? []) + [inProjBias] + outProj.parameters
            + lnQ.parameters + lnK.parameters
    }

    /// The pooled outputs [B, queries, width] of tokens x [B, T, contextWidth].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let batch = x.shape[0], count = query.shape[0]
        let queryWeight = keyValueWeights == nil ? queryOrPackedWeight.tensor.slice(axis: 0, 0..<width) : queryOrPackedWeight.tensor
        let keyValueWeight = keyValueWeights.map { Tensor.concatenate([$0.key.tensor, $0.value.tensor], axis: 0) }
            ?? queryOrPackedWeight.tensor.slice(axis: 0, width..<3 * width)
        // The queries are the same for every image: projected once, then shared by the batch.
        let queries = Tensor.linear(query.tensor, prologue: lnQ.prologue, weight: queryWeight, bias: inProjBias.tensor.slice(axis: 0, 0..<width))
            .reshaped([1, count, width]).expanded(to: [batch, count, width])
        let keysValues = Tensor.linear(x, prologue: lnK.prologue, weight: keyValueWeight, bias: inProjBias.tensor.slice(axis: 0, width..<3 * width))
        return Tensor.crossAttentionProjection(queries: queries, keysValues: keysValues, heads: heads, weight: outProj.weight.tensor,
                                               bias: outProj.bias?.tensor)
    }
}
