import NN
import TensorCore

/// OpenCLIP's `MultimodalTransformer`, CoCa's `text_decoder`: per layer a causal self-attention block (`resblocks.i`),
/// then a cross-attention block (`cross_attn.i`) whose keys and values are `ln_1_kv` of the image tokens; then
/// `ln_final` and `text_projection` [W, vocabulary]. Its input is the text tower's token outputs, which already hold
/// the positional embedding (none is added again), and it has no padding mask: padded positions only feed targets
/// the caption loss ignores.
public struct MultimodalDecoder {
    public let selfAttentionBlocks: [ResidualAttentionBlock]
    public let crossAttentionBlocks: [ResidualAttentionBlock]
    public let finalNorm: LayerNorm
    public let projection: Parameter
    /// How many layers, from the first, recompute both blocks in backward instead of keeping their activations.
    public var checkpointedLayers = 0
    /// How many layers, from the first, recompute their MLPs' hidden layers in backward.
    public var mlpRecomputedLayers = 0

    /// Registers the blocks with PyTorch's default initialisation (OpenCLIP never re-initialises them) and the
    /// projection from N(0, width^-1/2) (OpenCLIP leaves it uninitialised memory).
    public init(_ builder: ParameterBuilder, config: CoCaConfig.MultimodalConfig, vocabularySize: Int, activation: Activation) {
        let width = config.width
        func blocks(_ name: String, cross: Bool) -> [ResidualAttentionBlock] {
            (0..<config.layers).map {
                ResidualAttentionBlock(builder.scope("\(name).\($0)"), width: width, heads: config.heads, mlpWidth: config.mlpWidth,
                                       activation: activation, isCrossAttention: cross)
            }
        }
        selfAttentionBlocks = blocks("resblocks", cross: false)
        crossAttentionBlocks = blocks("cross_attn", cross: true)
        finalNorm = LayerNorm(builder.scope("ln_final"), width: width)
        projection = builder.parameter("text_projection", [width, vocabularySize], .normal(std: 1 / Float(width).squareRoot()))
    }

    /// The decoder's features [B, T, W] after `ln_final`, unprojected, of text positions [B, T, W] attending to image
    /// tokens [B, N, W].
    ///
    /// With `prefixLengths`, only the first `prefixLengths[b]` positions of batch row b are exact (those a caption loss
    /// reads); the MLPs of the layers that keep their activations skip the positions after them. Self-attention is
    /// causal, so no position of a prefix attends to a skipped one: the prefix's features and every gradient through
    /// them are unchanged. The skipped positions' features are finite but not the decoder's.
    public func features(_ text: Tensor, imageTokens: Tensor, prefixLengths: [Int]? = nil) -> Tensor {
        let (batch, length) = (text.shape[0], text.shape[1])
        var rows: [Int32]?
        if let prefixLengths {
            precondition(prefixLengths.count == batch && prefixLengths.allSatisfy { (0...length).contains($0) },
                         "multimodal decoder: prefix lengths \(prefixLengths) are not one length in 0...\(length) per batch row of \(batch)")
            if prefixLengths.contains(where: { $0 < length }) {
                rows = prefixLengths.enumerated().flatMap { b, n in (0..<n).map { Int32(b * length + $0) } }
            }
        }
        var h = text
        for layer in selfAttentionBlocks.indices {
            if layer < checkpointedLayers {
                h = selfAttentionBlocks[layer].checkpointed(h, causal: true)
                h = crossAttentionBlocks[layer].checkpointed(h, attendingTo: imageTokens)
            } else {
                let recomputing = layer < mlpRecomputedLayers
                h = selfAttentionBlocks[layer](h, causal: true, recomputingMLP: recomputing, mlpRows: rows)
                h = crossAttentionBlocks[layer](h, attendingTo: imageTokens, recomputingMLP: recomputing, mlpRows: rows)
            }
        }
        return finalNorm(h)
    }

    /// Logits [..., vocabulary] of decoder features (all at once: for parity and generation, not for the training loss).
    public func logits(_ features: Tensor) -> Tensor { Tensor.matmul(features, projection.tensor) }
}
