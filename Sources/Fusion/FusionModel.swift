import NN
import TensorCore

/// A classifier over several modalities: an encoder per modality (`visual.*`: CLIP's ViT, `text.*`: CLIP's text
/// transformer, `audio.*`: a spectrogram ViT as AST and ImageBind build it, each projected) and a fusion head: `late.*`
/// or `gated.*` on their pooled features, `early.*` or `xattn.*` on their token sequences; optionally a linear classifier
/// per encoder on its pooled features (`unimodal.<modality>.*`, registered last) for training each encoder alone.
public final class FusionModel {
    public let config: FusionModelConfig
    public let parameters = ParameterStore()
    public var vision: VisionTransformerEncoder?
    public var text: TextTransformerEncoder?
    public var audio: SpectrogramTransformerEncoder?
    public let late: LateFusionHead?
    public let gated: GatedFusionHead?
    public var early: EarlyFusionHead?
    public let crossAttention: CrossAttentionFusionHead?
    /// One classifier per modality, in `--modalities` order, when the config has unimodal heads.
    public let unimodal: [Linear]

    public init(config: FusionModelConfig, seed: UInt64 = 0) {
        self.config = config
        let root = ParameterBuilder(store: parameters, seed: seed)
        var widths: [Int] = [], tokenWidths: [Int] = []
        for modality in config.modalityList {
            switch modality {
            case .image:
                vision = VisionTransformerEncoder(root.scope("visual"), config: config.towers.vision!, outputDim: config.towers.visionOutputDim)
                widths.append(config.towers.visionOutputDim)
                tokenWidths.append(config.towers.vision!.width)
            case .text:
                text = TextTransformerEncoder(root.scope("text"), config: config.towers.text!, outputDim: config.towers.textOutputDim)
                widths.append(config.towers.textOutputDim)
                tokenWidths.append(config.towers.text!.width)
            case .audio:
                let outputDim = config.towers.audioOutputDim ?? config.towers.audio!.width
                audio = SpectrogramTransformerEncoder(root.scope("audio"), config: config.towers.audio!, outputDim: outputDim)
                widths.append(outputDim)
                tokenWidths.append(config.towers.audio!.width)
            }
        }
        var late: LateFusionHead?, gated: GatedFusionHead?, crossAttention: CrossAttentionFusionHead?
        switch config.kind {
        case .late:
            late = LateFusionHead(root.scope("late"), inputWidths: widths, classes: config.classes, learnedWeights: config.lateLearnedWeights)
        case .gated:
            gated = GatedFusionHead(root.scope("gated"), inputWidths: widths, width: config.gatedWidth, classes: config.classes)
        case .early:
            early = EarlyFusionHead(root.scope("early"), inputWidths: tokenWidths, width: config.earlyWidth, layers: config.earlyLayers,
                                    heads: config.earlyHeads, classes: config.classes)
        case .earlyCrossAttention:
            crossAttention = CrossAttentionFusionHead(root.scope("xattn"), inputWidths: tokenWidths, width: config.earlyWidth,
                                                      layers: config.earlyLayers, heads: config.earlyHeads, classes: config.classes)
        }
        self.late = late
        self.gated = gated
        self.crossAttention = crossAttention
        unimodal = !config.hasUnimodalHeads ? [] : zip(config.modalityList, widths).map { modality, width in
            Linear(root.scope("unimodal").scope(modality.rawValue), inFeatures: width, outFeatures: config.classes)
        }
        parameters.seal()
    }

    /// What the head reads of each modality, in `--modalities` order: pooled features `[B, outputDim]`, or for early
    /// fusion every token `[B, T, width]` (after the tower's final layer norm, unprojected). Spectrograms are
    /// `[B, 1, melBins, frames]`.
    public func features(images: Tensor?, tokens: [Int32]?, spectrograms: Tensor? = nil) -> [Tensor] {
        let readsTokens = early != nil || crossAttention != nil
        return config.modalityList.map { modality in
            switch (modality, readsTokens) {
            case (.image, false): return vision!.pooledFeatures(images!)
            case (.image, true): return vision!.tokenFeatures(images!)
            case (.text, false): return text!.pooledFeatures(tokens!)
            case (.text, true): return text!.tokenFeatures(tokens!)
            case (.audio, false): return audio!.pooledFeatures(spectrograms!)
            case (.audio, true): return audio!.tokenFeatures(spectrograms!)
            }
        }
    }

    /// The parameter-name prefix of the fusion head.
    public var fusionHeadPrefix: String {
        switch config.kind {
        case .late: return "late."
        case .gated: return "gated."
        case .early: return "early."
        case .earlyCrossAttention: return "xattn."
        }
    }

    /// Each modality's logits `[B, classes]` from its own encoder's pooled features and unimodal head, in `--modalities` order.
    public func unimodalLogits(images: Tensor?, tokens: [Int32]?) -> [Tensor] {
        precondition(!unimodal.isEmpty, "the model has no unimodal heads (its config's unimodalHeads)")
        return zip(config.modalityList, unimodal).map { modality, head in
            head(modality == .image ? vision!.pooledFeatures(images!) : text!.pooledFeatures(tokens!))
        }
    }

    /// Logits `[B, classes]` of the fusion head on `features`, leaving out what `presence` marks missing.
    public func logits(_ features: [Tensor], presence: ModalityPresence) -> Tensor {
        if let late { return late(features, presence: presence) }
        if let gated { return gated(features, presence: presence) }
        if let crossAttention { return crossAttention(features, presence: presence) }
        return early!(features, presence: presence)
    }

    /// How many blocks of each tower recompute activations in backward.
    public func setCheckpointedBlocks(_ blocks: Int, mlpRecomputed: Int) {
        vision?.transformer.checkpointedBlocks = blocks
        vision?.transformer.mlpRecomputedBlocks = mlpRecomputed
        text?.transformer.checkpointedBlocks = blocks
        text?.transformer.mlpRecomputedBlocks = mlpRecomputed
        audio?.transformer.checkpointedBlocks = blocks
        audio?.transformer.mlpRecomputedBlocks = mlpRecomputed
        early?.transformer.checkpointedBlocks = blocks
        early?.transformer.mlpRecomputedBlocks = mlpRecomputed
    }
}
