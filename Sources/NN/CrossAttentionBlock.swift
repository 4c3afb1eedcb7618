import TensorCore

/// A residual block built with `isCrossAttention`, as OpenCLIP's `ResidualAttentionBlock(is_cross_attention=True)` in
/// CoCa's multimodal text decoder: `x = x + attn(ln_1(x), ln_1_kv(other)); x = x + mlp(ln_2(x))`, queries from x, keys
/// and values from the other sequence (e.g. image tokens), which has the block's width (CoCa projects the image tokens
/// to the text width first).
///
/// Keys in registration order: `ln_1`, `attn.in_proj_weight` / `attn.in_proj_bias` (q rows for x, k and v rows for
/// `ln_1_kv(other)`), `attn.out_proj`, `ln_1_kv`, `ln_2`, `mlp.c_fc`, `mlp.c_proj`.
extension ResidualAttentionBlock {
    /// The block on x [B, Tq, W] attending to `other` [B, Tk, W], whose batch row b has `validKeyCounts[b]` real leading
    /// positions (nil: all). Both layer norms are fused into the in-projection, the attention into its output
    /// projection, and the MLP works a chunk of rows at a time, as in self-attention; with `mlpRows`, on those rows of the
    /// flattened positions only.
    public func callAsFunction(_ x: Tensor, attendingTo other: Tensor, validKeyCounts: [Int]? = nil, recomputingMLP: Bool = false,
                               mlpRows: [Int32]? = nil) -> Tensor {
        guard let ln1KeysValues else { preconditionFailure("residual attention block: built without isCrossAttention, it has no ln_1_kv") }
        let h = attention(x, attendingTo: other, validKeyCounts: validKeyCounts, queryPrologue: ln1.prologue,
                          keyValuePrologue: ln1KeysValues.prologue, adding: x)
        return mlp(h, recomputingHidden: recomputingMLP, onlyRows: mlpRows)
    }

    /// The cross-attention block without keeping its activations; backward recomputes it (gradient checkpointing).
    public func checkpointed(_ x: Tensor, attendingTo other: Tensor, validKeyCounts: [Int]? = nil) -> Tensor {
        recomputedInBackward([x, other], parameters: parameters, name: "checkpointedCrossAttentionBlock") {
            self($0[0], attendingTo: $0[1], validKeyCounts: validKeyCounts)
        }
    }
}
