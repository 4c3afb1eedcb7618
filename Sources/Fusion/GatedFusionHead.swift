import NN
import TensorCore

/// The Gated Multimodal Unit (Arevalo et al. 2017) on pooled features, then a linear classifier:
/// h_m = tanh(W_m x_m), gates from [x_1; …; x_M], output Σ_m z_m ⊙ h_m.
///
/// Two modalities: one sigmoid gate per feature, z and 1 - z (the paper's unit). More: a softmax over the modalities per
/// feature. A dropped modality's input is zeroed before the gate and its gate removed, the rest renormalised to sum 1.
public struct GatedFusionHead {
    public let hidden: [Linear]
    public let gate: Linear
    public let classifier: Linear
    public let width: Int

    /// Registers `gated.hidden.<m>.weight` (no bias, as the paper's W_m), `gated.gate.*` and `gated.classifier.*`.
    public init(_ builder: ParameterBuilder, inputWidths: [Int], width: Int, classes: Int) {
        precondition(inputWidths.count >= 2, "gated fusion needs at least two modalities")
        self.width = width
        hidden = inputWidths.enumerated().map { Linear(builder.scope("hidden.\($0.offset)"), inFeatures: $0.element, outFeatures: width, bias: false) }
        let gates = inputWidths.count == 2 ? width : width * inputWidths.count
        gate = Linear(builder.scope("gate"), inFeatures: inputWidths.reduce(0, +), outFeatures: gates)
        classifier = Linear(builder.scope("classifier"), inFeatures: width, outFeatures: classes)
    }

    /// The fused representation `[B, width]` of each modality's features `[B, width_m]`.
    public func fused(_ features: [Tensor], presence: ModalityPresence) -> Tensor {
        let samples = presence.samples, count = features.count
        let columns = (0..<count).map { presence.column($0) }
        let h = zip(hidden, features).map { $0.0($0.1).tanh() }
        let gateInput = Tensor.concatenate(zip(features, columns).map { $0.0 * $0.1 }, axis: 1)
        let scores = gate(gateInput)
        var weights: [Tensor]
        if count == 2 {
            let z = scores.sigmoid()
            let present = [z * columns[0], (z * -1 + 1) * columns[1]]
            // A tiny floor keeps a saturated gate of the only present modality from giving 0/0.
            let total = present[0] + present[1] + 1e-12
            weights = present.map { $0 / total }
        } else {
            // Dropped modalities get a score far below any other, so the softmax gives them zero weight.
            let offsets = (presence.tensor - 1).scaled(by: 1e4).reshaped([samples, count, 1])
            let gates = (scores.reshaped([samples, count, width]) + offsets).permuted([0, 2, 1]).softmax().permuted([0, 2, 1])
            weights = (0..<count).map { gates.slice(axis: 1, $0..<($0 + 1)).reshaped([samples, width]) }
        }
        var sum = weights[0] * h[0]
        for m in 1..<count { sum = sum + weights[m] * h[m] }
        return sum
    }

    /// Logits `[B, classes]`.
    public func callAsFunction(_ features: [Tensor], presence: ModalityPresence) -> Tensor {
        classifier(fused(features, presence: presence))
    }
}
