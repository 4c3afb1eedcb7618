import NN
import TensorCore

/// Early fusion by cross-attention (`--fusion early-xattn`): the first modality's tokens, after a learned fusion token,
/// run through blocks of self-attention each followed by cross-attention to the second modality's tokens (after a
/// learned null key), as CoCa's multimodal decoder attends to image tokens; the fusion token's output (layer-normed)
/// is classified. Both sequences are projected to a common width and tagged with a learned modality embedding.
///
/// A dropped modality is masked by key count: without the first, self-attention reads only the fusion token; without
/// the second, cross-attention reads only the null key (so it always has one key to attend to).
public struct CrossAttentionFusionHead {
    public let projections: [Linear]
    public let modalityEmbedding: Parameter
    public let fusionToken: Parameter
    public let nullKey: Parameter
    public let selfAttentionBlocks: [ResidualAttentionBlock]
    public let crossAttentionBlocks: [ResidualAttentionBlock]
    public let norm: LayerNorm
    public let classifier: Linear
    public let width: Int

    /// Registers `xattn.projection.<m>.*`, `xattn.modality_embedding`, `xattn.fusion_token`, `xattn.null_key`,
    /// `xattn.resblocks.<i>.*`, `xattn.cross_attn.<i>.*`, `xattn.ln.*` and `xattn.classifier.*`.
    public init(_ builder: ParameterBuilder, inputWidths: [Int], width: Int, layers: Int, heads: Int, classes: Int) {
        precondition(inputWidths.count == 2, "cross-attention fusion reads exactly two modalities")
        precondition(width % heads == 0, "cross-attention fusion: width \(width) does not divide into \(heads) heads")
        self.width = width
        projections = inputWidths.enumerated().map { Linear(builder.scope("projection.\($0.offset)"), inFeatures: $0.element, outFeatures: width) }
        let scale = 1 / Float(width).squareRoot()
        modalityEmbedding = builder.parameter("modality_embedding", [2, width], .normal(std: scale))
        fusionToken = builder.parameter("fusion_token", [width], .normal(std: scale))
        nullKey = builder.parameter("null_key", [width], .normal(std: scale))
        let stds = TransformerInitStds(width: width, layers: layers)
        func blocks(_ name: String, cross: Bool) -> [ResidualAttentionBlock] {
            (0..<layers).map {
                ResidualAttentionBlock(builder.scope("\(name).\($0)"), width: width, heads: heads, mlpWidth: 4 * width, initStds: stds,
                                       isCrossAttention: cross)
            }
        }
        selfAttentionBlocks = blocks("resblocks", cross: false)
        crossAttentionBlocks = blocks("cross_attn", cross: true)
        norm = LayerNorm(builder.scope("ln"), width: width)
        classifier = Linear(builder.scope("classifier"), inFeatures: width, outFeatures: classes)
    }

    /// Logits `[B, classes]` from the two modalities' tokens `[B, T_m, width_m]`.
    public func callAsFunction(_ tokens: [Tensor], presence: ModalityPresence) -> Tensor {
        let samples = presence.samples
        func tagged(_ m: Int) -> Tensor {
            projections[m](tokens[m]) + modalityEmbedding.tensor.slice(axis: 0, m..<(m + 1)).reshaped([width])
        }
        func leading(_ token: Parameter) -> Tensor { token.tensor.reshaped([1, 1, width]).expanded(to: [samples, 1, width]) }
        var h = Tensor.concatenate([leading(fusionToken), tagged(0)], axis: 1)
        let keys = Tensor.concatenate([leading(nullKey), tagged(1)], axis: 1)
        let queryCounts = (0..<samples).map { presence.values[$0 * 2] != 0 ? h.shape[1] : 1 }
        let keyCounts = (0..<samples).map { presence.values[$0 * 2 + 1] != 0 ? keys.shape[1] : 1 }
        for layer in selfAttentionBlocks.indices {
            h = selfAttentionBlocks[layer](h, causal: false, validKeyCounts: queryCounts)
            h = crossAttentionBlocks[layer](h, attendingTo: keys, validKeyCounts: keyCounts)
        }
        let total = h.shape[1]
        let pooled = h.reshaped([samples * total, width]).gatherRows((0..<samples).map { Int32($0 * total) })
        return classifier(norm(pooled))
    }
}
