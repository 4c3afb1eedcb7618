import NN
import TensorCore

/// Early fusion: each modality's token sequence projected to a common width and tagged with a learned modality
/// embedding, concatenated after a learned fusion token, run through a small joint transformer; the fusion token's
/// output (layer-normed) is classified.
///
/// A dropped modality is masked out of attention by key count: each sample's sequence is reordered so the fusion token
/// and its present modalities' tokens come first, and attention reads only that many keys. Only the fusion token's row
/// is read afterwards, so the masked rows never reach the loss.
public struct EarlyFusionHead {
    public let projections: [Linear]
    public let modalityEmbedding: Parameter
    public let fusionToken: Parameter
    public var transformer: Transformer
    public let norm: LayerNorm
    public let classifier: Linear
    public let width: Int

    /// Registers `early.projection.<m>.*`, `early.modality_embedding`, `early.fusion_token`, `early.transformer.*`,
    /// `early.ln.*` and `early.classifier.*`.
    public init(_ builder: ParameterBuilder, inputWidths: [Int], width: Int, layers: Int, heads: Int, classes: Int) {
        precondition(width % heads == 0, "early fusion: width \(width) does not divide into \(heads) heads")
        self.width = width
        projections = inputWidths.enumerated().map { Linear(builder.scope("projection.\($0.offset)"), inFeatures: $0.element, outFeatures: width) }
        let scale = 1 / Float(width).squareRoot()
        modalityEmbedding = builder.parameter("modality_embedding", [inputWidths.count, width], .normal(std: scale))
        fusionToken = builder.parameter("fusion_token", [width], .normal(std: scale))
        transformer = Transformer(builder.scope("transformer"), width: width, layers: layers, heads: heads, mlpWidth: 4 * width,
                                  initStds: TransformerInitStds(width: width, layers: layers))
        norm = LayerNorm(builder.scope("ln"), width: width)
        classifier = Linear(builder.scope("classifier"), inFeatures: width, outFeatures: classes)
    }

    /// Logits `[B, classes]` from each modality's tokens `[B, T_m, width_m]`.
    public func callAsFunction(_ tokens: [Tensor], presence: ModalityPresence) -> Tensor {
        let samples = presence.samples
        var parts = [fusionToken.tensor.reshaped([1, 1, width]).expanded(to: [samples, 1, width])]
        for (m, sequence) in tokens.enumerated() {
            let tag = modalityEmbedding.tensor.slice(axis: 0, m..<(m + 1)).reshaped([width])
            parts.append(projections[m](sequence) + tag)
        }
        var joint = Tensor.concatenate(parts, axis: 1)
        let lengths = tokens.map { $0.shape[1] }, total = 1 + lengths.reduce(0, +)
        var keyCounts = [Int](repeating: total, count: samples)
        if presence.values.contains(0) {
            let order = Self.presentFirst(presence, lengths: lengths)
            joint = joint.reshaped([samples * total, width]).gatherRows(order.rows).reshaped([samples, total, width])
            keyCounts = order.keyCounts
        }
        // The blocks cannot keep only some rows under a key mask, so every row is computed and the fusion tokens taken.
        let fusionRows = (0..<samples).map { Int32($0 * total) }
        let pooled = transformer(joint, causal: false, validKeyCounts: keyCounts).reshaped([samples * total, width]).gatherRows(fusionRows)
        return classifier(norm(pooled))
    }

    /// For each sample, the positions of the flattened `[B·T]` sequence in the order fusion token, present modalities'
    /// tokens, dropped modalities' tokens; and how many keys each sample attends to (the first two groups).
    static func presentFirst(_ presence: ModalityPresence, lengths: [Int]) -> (rows: [Int32], keyCounts: [Int]) {
        let total = 1 + lengths.reduce(0, +)
        let starts = lengths.indices.map { 1 + lengths[..<$0].reduce(0, +) }
        var rows: [Int32] = [], counts: [Int] = []
        for b in 0..<presence.samples {
            let present = lengths.indices.filter { presence.values[b * lengths.count + $0] != 0 }
            let absent = lengths.indices.filter { presence.values[b * lengths.count + $0] == 0 }
            rows.append(Int32(b * total))
            for m in present + absent { rows += (starts[m]..<(starts[m] + lengths[m])).map { Int32(b * total + $0) } }
            counts.append(1 + present.reduce(0) { $0 + lengths[$1] })
        }
        return (rows, counts)
    }
}
