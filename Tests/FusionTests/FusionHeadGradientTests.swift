import Fusion
import NN
import TensorCore
import XCTest

/// Each fusion head's gradients by finite differences, with all modalities present and with some dropped.
final class FusionHeadGradientTests: XCTestCase {
    let widths = [4, 3, 5], samples = 6, classes = 3
    let labels: [Int32] = [0, 2, 1, 1, 0, 2]

    func features(_ count: Int) -> [Tensor] {
        var generator = SplitMix64(seed: 11)
        return widths.prefix(count).map { Tensor.randomNormal([samples, $0], using: &generator) }
    }

    /// Sample 1 lacks modality 0, sample 3 modality 1, sample 4 every modality but the last.
    func somePresent(_ count: Int) -> ModalityPresence {
        var values = [Float](repeating: 1, count: samples * count)
        values[1 * count + 0] = 0
        values[3 * count + 1] = 0
        for m in 0..<(count - 1) { values[4 * count + m] = 0 }
        return ModalityPresence(values: values, samples: samples, modalities: count)
    }

    func checkLate(learned: Bool, modalities: Int, presence: ModalityPresence) {
        let store = ParameterStore()
        let head = LateFusionHead(ParameterBuilder(store: store, seed: 5), inputWidths: Array(widths.prefix(modalities)), classes: classes,
                                  learnedWeights: learned)
        store.seal()
        if let weights = head.modalityWeights { for i in 0..<weights.count { weights.pointer[i] = [0.3, -0.4, 0.2][i] } }
        let x = features(modalities)
        HeadGradientCheck.check(store, prefixes: [""]) { head(x, presence: presence).crossEntropy(labels: labels) }
    }

    func checkGated(modalities: Int, presence: ModalityPresence) {
        let store = ParameterStore()
        let head = GatedFusionHead(ParameterBuilder(store: store, seed: 5), inputWidths: Array(widths.prefix(modalities)), width: 4, classes: classes)
        store.seal()
        let x = features(modalities)
        HeadGradientCheck.check(store, prefixes: [""]) { head(x, presence: presence).crossEntropy(labels: labels) }
    }

    func checkEarly(modalities: Int, presence: ModalityPresence) {
        let store = ParameterStore()
        let head = EarlyFusionHead(ParameterBuilder(store: store, seed: 5), inputWidths: Array(widths.prefix(modalities)), width: 4, layers: 1,
                                   heads: 2, classes: classes)
        store.seal()
        var generator = SplitMix64(seed: 13)
        let x = widths.prefix(modalities).enumerated().map { Tensor.randomNormal([samples, 2 + $0.offset, $0.element], using: &generator) }
        HeadGradientCheck.check(store, prefixes: [""]) { head(x, presence: presence).crossEntropy(labels: labels) }
    }

    func checkCrossAttention(presence: ModalityPresence) {
        let store = ParameterStore()
        let head = CrossAttentionFusionHead(ParameterBuilder(store: store, seed: 5), inputWidths: [4, 3], width: 4, layers: 1, heads: 2,
                                            classes: classes)
        store.seal()
        var generator = SplitMix64(seed: 13)
        let x = [Tensor.randomNormal([samples, 3, 4], using: &generator), Tensor.randomNormal([samples, 2, 3], using: &generator)]
        // Two attention blocks and their MLPs in Float: the central differences are noisier than for one block.
        HeadGradientCheck.check(store, prefixes: [""], tolerance: 5e-3) { head(x, presence: presence).crossEntropy(labels: labels) }
    }

    /// Sample 1 lacks the querying modality, sample 3 the attended one.
    func testCrossAttentionHead() {
        checkCrossAttention(presence: .all(samples: samples, modalities: 2))
        checkCrossAttention(presence: somePresent(2))
    }

    func testEarlyHead() {
        checkEarly(modalities: 2, presence: .all(samples: samples, modalities: 2))
        checkEarly(modalities: 3, presence: somePresent(3))
    }

    func testLateMeanHead() {
        checkLate(learned: false, modalities: 2, presence: .all(samples: samples, modalities: 2))
        checkLate(learned: false, modalities: 2, presence: somePresent(2))
    }

    func testLateLearnedWeightsHead() {
        checkLate(learned: true, modalities: 3, presence: .all(samples: samples, modalities: 3))
        checkLate(learned: true, modalities: 3, presence: somePresent(3))
    }

    func testUnimodalLateHead() { checkLate(learned: false, modalities: 1, presence: .all(samples: samples, modalities: 1)) }

    func testGatedHeadOfTwoModalities() {
        checkGated(modalities: 2, presence: .all(samples: samples, modalities: 2))
        checkGated(modalities: 2, presence: somePresent(2))
    }

    func testGatedHeadOfThreeModalities() {
        checkGated(modalities: 3, presence: .all(samples: samples, modalities: 3))
        checkGated(modalities: 3, presence: somePresent(3))
    }

    /// Audio with images (and text): gradients reach the spectrogram ViT's patches, positions and projection through
    /// each head, with every modality present and with modality dropout.
    func testGradientsReachTheAudioEncoder() {
        let audio = ["audio.conv1", "audio.class_embedding", "audio.positional_embedding", "audio.proj"]
        for (kind, modalities, head) in [(FusionKind.late, [FusionModality.image, .audio], "late."), (.gated, [.image, .audio], "gated."),
                                         (.early, [.audio, .image, .text], "early.projection"), (.late, [.audio], "late."),
                                         (.gated, [.audio, .image, .text], "gated.")] {
            for dropout in [0.0, 0.5] where dropout == 0 || modalities.count > 1 {
                let task = TinyFusion.task(kind, modalities: modalities, dropout: dropout)
                let batch = TinyFusion.batch(count: 4)
                let prefixes = kind == .early ? ["audio.conv1", "audio.positional_embedding", "audio.ln_post", head] : audio + [head]
                HeadGradientCheck.check(task.parameters, prefixes: prefixes, tolerance: 5e-3) { task.forward(batch).local! }
            }
        }
    }

    /// The whole task, encoders included: gradients reach the towers through each head.
    func testGradientsReachTheEncoders() {
        for (kind, prefixes) in [(FusionKind.late, ["visual.proj", "text.text_projection", "late."]),
                                 (.gated, ["visual.proj", "text.text_projection", "gated."]),
                                 (.early, ["visual.ln_post", "text.ln_final", "early.projection", "early.classifier"]),
                                 (.earlyCrossAttention, ["visual.ln_post", "text.ln_final", "xattn.projection", "xattn.null_key", "xattn.classifier"])] {
            let task = TinyFusion.task(kind)
            let batch = TinyFusion.batch(count: 4)
            HeadGradientCheck.check(task.parameters, prefixes: prefixes, tolerance: 5e-3) { task.forward(batch).local! }
        }
    }
}
