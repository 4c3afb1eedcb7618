/// Cross-attention: queries from one sequence attend to keys and values from another (a captioner's text attending to
/// image tokens). It runs on `AttentionContext` with the `keysValuesPacked` layout, so forward, the recomputing
/// backward rule (`AttentionGradient`) and the fused output projection are the self-attention's.
extension Tensor {
    /// Multi-head scaled dot-product cross-attention: `queries` [B, Tq, W] attend to `keysValues` [B, Tk, 2W] (k | v, as
    /// the last two thirds of `nn.MultiheadAttention`'s in-projection give them for the other sequence) -> [B, Tq, W].
    ///
    /// Heads are contiguous chunks of W, scores are scaled by 1/√(W / heads), and there is no causal mask. With
    /// `validKeyCounts`, batch row b attends to its first `validKeyCounts[b]` keys only (the rest is padding, whose keys
    /// and values get a zero gradient). A row with no valid key has nothing to average: its output is defined as zero,
    /// and no gradient flows through it, where a softmax over only masked scores would give NaN.
    public static func crossAttention(queries: Tensor, keysValues: Tensor, heads: Int, validKeyCounts: [Int]? = nil) -> Tensor {
        attention(AttentionContext(queries: queries, keysValues: keysValues, heads: heads, validKeyCounts: validKeyCounts))
    }

    /// `crossAttention(queries:keysValues:heads:validKeyCounts:)` followed by its output projection, `attention Wᵀ + b`
    /// (+ `residual`, added in the same pass), keeping neither the attention output nor its probabilities, as
    /// `attentionProjection(packedQKV:heads:causal:weight:bias:adding:)` does for self-attention.
    /// Tape inputs are the queries, keys | values, the weight, the bias and the residual.
    public static func crossAttentionProjection(queries: Tensor, keysValues: Tensor, heads: Int, validKeyCounts: [Int]? = nil,
                                                weight: Tensor, bias: Tensor?, adding residual: Tensor? = nil) -> Tensor {
        attentionProjection(AttentionContext(queries: queries, keysValues: keysValues, heads: heads, validKeyCounts: validKeyCounts),
                            weight: weight, bias: bias, adding: residual)
    }
}

extension AttentionContext {
    init(queries: Tensor, keysValues: Tensor, heads: Int, validKeyCounts: [Int]?) {
        precondition(queries.rank == 3 && keysValues.rank == 3 && queries.shape[0] == keysValues.shape[0]
                     && keysValues.shape[2] == 2 * queries.shape[2],
                     "cross-attention: queries \(queries.shape) do not fit keys|values \(keysValues.shape) ([B, Tq, W] and [B, Tk, 2W])")
        self.init(inputs: [queries, keysValues], layout: .keysValuesPacked, batch: queries.shape[0], queryLength: queries.shape[1],
                  keyLength: keysValues.shape[1], width: queries.shape[2], heads: heads, causal: false, validKeyCounts: validKeyCounts)
    }
}
