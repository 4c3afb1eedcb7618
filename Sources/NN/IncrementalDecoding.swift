import TensorCore

/// The keys and values of the positions a self-attention block has decoded so far, [B, t, W] each: what makes one
/// decoding step cost one row of work per layer instead of re-running the whole prefix.
public struct KeyValueCache {
    var keys: Tensor?
    var values: Tensor?

    public init() {}

    /// How many positions are cached.
    public var count: Int { keys?.shape[1] ?? 0 }

    /// Keeps the cached sequences `rows` of the batch, in that order (a beam search's surviving beams).
    public mutating func selectRows(_ rows: [Int32]) {
        keys = keys.map { $0.selectingBatchRows(rows) }
        values = values.map { $0.selectingBatchRows(rows) }
    }
}

extension Tensor {
    /// Batch rows `rows` of a [B, T, W] tensor, in that order -> [rows.count, T, W].
    public func selectingBatchRows(_ rows: [Int32]) -> Tensor {
        let (length, width) = (shape[1], shape[2])
        return reshaped([shape[0], length * width]).gatherRows(rows).reshaped([rows.count, length, width])
    }
}

/// Decoding one position at a time (inference only, no tape).
extension ResidualAttentionBlock {
    /// The block on the newest position x [B, 1, W] of a causal sequence whose earlier positions' keys and values are in
    /// `cache`; appends this position's. Equals row t of the block on the whole prefix.
    public func step(_ x: Tensor, cache: inout KeyValueCache) -> Tensor {
        let width = x.shape[2]
        let qkv = Tensor.linear(x, prologue: ln1.prologue, weight: attention.inProjWeight.tensor, bias: attention.inProjBias.tensor)
        let keys = qkv.slice(axis: 2, width..<2 * width), values = qkv.slice(axis: 2, 2 * width..<3 * width)
        cache.keys = cache.keys.map { Tensor.concatenate([$0, keys], axis: 1) } ?? keys
        cache.values = cache.values.map { Tensor.concatenate([$0, values], axis: 1) } ?? values
        let attended = Tensor.attention(query: qkv.slice(axis: 2, 0..<width), key: cache.keys!, value: cache.values!,
                                        heads: attention.heads, causal: false)
        return mlp(attention.outProj(attended, adding: x))
    }

    /// The keys | values [B, N, 2W] this cross-attention block reads from `other` [B, N, W]: computed once per image,
    /// then given to every decoding step.
    public func crossAttentionKeysValues(_ other: Tensor) -> Tensor {
        guard let ln1KeysValues else { preconditionFailure("residual attention block: built without isCrossAttention, it has no ln_1_kv") }
        let width = other.shape[2]
        return Tensor.linear(other, prologue: ln1KeysValues.prologue, weight: attention.inProjWeight.tensor.slice(axis: 0, width..<3 * width),
                             bias: attention.inProjBias.tensor.slice(axis: 0, width..<3 * width))
    }

    /// The cross-attention block on x [B, T, W] with keys | values from `crossAttentionKeysValues`.
    public func callAsFunction(_ x: Tensor, attendingToKeysValues keysValues: Tensor) -> Tensor {
        let width = x.shape[2]
        let queries = Tensor.linear(x, prologue: ln1.prologue, weight: attention.inProjWeight.tensor.slice(axis: 0, 0..<width),
                                    bias: attention.inProjBias.tensor.slice(axis: 0, 0..<width))
        let h = Tensor.crossAttentionProjection(queries: queries, keysValues: keysValues, heads: attention.heads,
                                                weight: attention.outProj.weight.tensor, bias: attention.outProj.bias?.tensor, adding: x)
        return mlp(h)
    }
}

extension TextTransformerEncoder {
    /// The newest position's output [B, 1, W] (after the blocks, without `ln_final`) of token rows whose earlier positions
    /// are cached in `caches` (one per block): `tokens` holds each row's token at `position`. Causal attention makes the
    /// earlier positions' outputs independent of later ones, and CoCa's appended cls token comes after them all, so the
    /// token outputs a decoder reads need no cls token here.
    public func tokenFeatureStep(_ tokens: [Int32], position: Int, caches: inout [KeyValueCache]) -> Tensor {
        precondition(position < positionalEmbedding.shape[0], "text encoder: position \(position) is past the positional embedding")
        if caches.isEmpty { caches = Array(repeating: KeyValueCache(), count: transformer.blocks.count) }
        var h = tokenEmbedding.tensor.gatherRows(tokens).reshaped([tokens.count, 1, config.width])
            + positionalEmbedding.tensor.slice(axis: 0, position..<(position + 1))
        for (index, block) in transformer.blocks.enumerated() { h = block.step(h, cache: &caches[index]) }
        return h
    }
}
