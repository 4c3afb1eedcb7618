import NN
import TensorCore

/// Late fusion (MMF's convention): one linear classifier per modality on its pooled features, the logits averaged over
/// the modalities a sample has, each weighing the same or by a learned softmax weight (`late.modality_weights`).
public struct LateFusionHead {
    public let classifiers: [Linear]
    /// One logit per modality when the weights are learned (softmax over the present modalities).
    public let modalityWeights: Parameter?

    /// Registers `late.classifier.<m>.*` for each input width and, with `learnedWeights`, `late.modality_weights`.
    public init(_ builder: ParameterBuilder, inputWidths: [Int], classes: Int, learnedWeights: Bool) {
        classifiers = inputWidths.enumerated().map { Linear(builder.scope("classifier.\($0.offset)"), inFeatures: $0.element, outFeatures: classes) }
        modalityWeights = learnedWeights ? builder.parameter("modality_weights", [inputWidths.count], .zeros) : nil
    }

    /// Logits `[B, classes]` from each modality's features `[B, width_m]`: Σ_m w_m p_m logits_m / Σ_m w_m p_m, so a dropped
    /// modality leaves the average.
    public func callAsFunction(_ features: [Tensor], presence: ModalityPresence) -> Tensor {
        let count = features.count, samples = presence.samples
        let weights = modalityWeights.map { $0.tensor.reshaped([1, count]).softmax() } ?? Tensor.ones([1, count])
        let present = presence.tensor * weights
        let normalised = present / present.sum(axis: 1).reshaped([samples, 1])
        var logits: Tensor?
        for (m, classifier) in classifiers.enumerated() {
            let term = classifier(features[m]) * normalised.slice(axis: 1, m..<(m + 1))
            logits = logits.map { $0 + term } ?? term
        }
        return logits!
    }
}
