import TensorCore

/// Multi-head attention as `torch.nn.MultiheadAttention`: packed `in_proj_weight` [3W, W] (rows q | k | v),
/// `in_proj_bias` [3W], and `out_proj` (a Linear W -> W). Self-attention projects one sequence through all three
/// bands; cross-attention takes q from one sequence and k | v from another of the same width.
public struct MultiheadAttention {
    public let inProjWeight: Parameter
    public let inProjBias: Parameter
    public let outProj: Linear
    public let heads: Int

    public init(_ builder: ParameterBuilder, width: Int, heads: Int, inProjInit: Initializer? = nil, outProjInit: Initializer? = nil) {
        precondition(heads > 0 && width % heads == 0, "attention: width \(width) is not divisible by \(heads) heads")
        inProjWeight = builder.parameter("in_proj_weight", [3 * width, width], inProjInit ?? .xavierUniform(fanIn: width, fanOut: 3 * width))
        inProjBias = builder.parameter("in_proj_bias", [3 * width], .zeros)
        outProj = Linear(builder.scope("out_proj"), inFeatures: width, outFeatures: width, weightInit: outProjInit, biasInit: .zeros)
        self.heads = heads
    }

    /// With the standard deviations OpenCLIP's text transformer draws its weights from, or `nn.MultiheadAttention`'s
    /// initialisation when `initStds` is nil.
    public init(_ builder: ParameterBuilder, width: Int, heads: Int, initStds: TransformerInitStds?) {
        self.init(builder, width: width, heads: heads, inProjInit: initStds.map { .normal(std: $0.attention) },
                  outProjInit: initStds.map { .normal(std: $0.projection) })
    }

    /// Every parameter, in registration order.
    public var parameters: [Parameter] { [inProjWeight, inProjBias] + outProj.parameters }

    /// Self-attention over `prologue(x)` (e.g. a layer norm, recomputed in backward instead of kept), or over x;
    /// `residual` is added by the output projection in the same pass. The attention output and probabilities are
    /// recomputed in backward, not kept. With `validKeyCounts`, batch row b attends to its first `validKeyCounts[b]`
    /// positions only (a padding mask).
    public func callAsFunction(_ x: Tensor, causal: Bool, validKeyCounts: [Int]? = nil, prologue: LinearPrologue? = nil,
                               adding residual: Tensor? = nil) -> Tensor {
        let qkv = project(x, prologue: prologue, weight: inProjWeight.tensor, bias: inProjBias.tensor)
        return Tensor.attentionProjection(packedQKV: qkv, heads: heads, causal: causal, validKeyCounts: validKeyCounts,
                                          weight: outProj.weight.tensor, bias: outProj.bias?.tensor, adding: residual)
    }

    /// Cross-attention: queries from `queryPrologue(x)` [B, Tq, W] attend to keys and values from
    /// `keyValuePrologue(other)` [B, Tk, W]; `residual` is added by the output projection in the same pass.
    ///
    /// `validKeyCounts[b]`: how many leading positions of `other`'s batch row b are real (the rest is padding); a row
    /// with none attends to nothing and its attention output is zero. Like self-attention, nothing attention-sized is kept.
    public func callAsFunction(_ x: Tensor, attendingTo other: Tensor, validKeyCounts: [Int]? = nil, queryPrologue: LinearPrologue? = nil,
                               keyValuePrologue: LinearPrologue? = nil, adding residual: Tensor? = nil) -> Tensor {
        let width = x.shape[2]
        precondition(other.rank == 3 && other.shape[0] == x.shape[0] && other.shape[2] == width,
                     "cross-attention: the attended sequence \(other.shape) does not have the queries' batch and width \(x.shape)")
        let queries = project(x, prologue: queryPrologue, rows: 0..<width)
        let keysValues = project(other, prologue: keyValuePrologue, rows: width..<3 * width)
        return Tensor.crossAttentionProjection(queries: queries, keysValues: keysValues, heads: heads, validKeyCounts: validKeyCounts,
                                               weight: outProj.weight.tensor, bias: outProj.bias?.tensor, adding: residual)
    }

    /// Self-attention over `prologue(x)` [B, T, W] projected and added to `residual` only at the rows `rows` of the
    /// flattened [B·T, W] positions: -> [rows.count, W].
    ///
    /// Keys and values still come from every position, but queries, attention and the output projection, which work
    /// row by row, run on the rows asked for only.
    public func callAsFunction(_ x: Tensor, causal: Bool, prologue: LinearPrologue? = nil, adding residual: Tensor,
                               keepingRows rows: [Int32]) -> Tensor {
        let width = x.shape[2], positions = x.shape[0] * x.shape[1]
        let queries = project(x.reshaped([positions, width]).gatherRows(rows), prologue: prologue, rows: 0..<width)
        let keysValues = project(x, prologue: prologue, rows: width..<3 * width)
        let attended = Tensor.attention(queries: queries, atRows: rows, keysValues: keysValues, heads: heads, causal: causal)
        return Tensor.linear(attended, weight: outProj.weight.tensor, bias: outProj.bias?.tensor,
                             adding: residual.reshaped([positions, width]).gatherRows(rows))
    }

    /// `prologue(x)`, or x, through the band `rows` of the in-projection (q: the first W rows, k | v: the last 2W).
    private func project(_ x: Tensor, prologue: LinearPrologue?, rows: Range<Int>) -> Tensor {
        project(x, prologue: prologue, weight: inProjWeight.tensor.slice(axis: 0, rows), bias: inProjBias.tensor.slice(axis: 0, rows))
    }

    /// `prologue(x) Wᵀ + b`, or `x Wᵀ + b`.
    private func project(_ x: Tensor, prologue: LinearPrologue?, weight: Tensor, bias: Tensor) -> Tensor {
        prologue.map { Tensor.linear(x, prologue: $0, weight: weight, bias: bias) } ?? Tensor.linear(x, weight: weight, bias: bias)
    }
}

/// The name this type had while it served self-attention only.
public typealias MultiheadSelfAttention = MultiheadAttention
