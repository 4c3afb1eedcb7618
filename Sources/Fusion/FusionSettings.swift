import TrainingKit

/// How the fusion family combines its modalities (`--fusion`).
public enum FusionKind: String, SettingEnumeration {
    /// One classifier per modality on its pooled features; logits averaged (MMF's late fusion).
    case late
    /// The Gated Multimodal Unit (Arevalo et al. 2017) on the pooled features, then a classifier.
    case gated
    /// The modalities' token sequences, projected and tagged, through a joint transformer; its fusion token classified.
    case early
    /// The first modality's tokens (after a fusion token) attending to the second's by cross-attention; the fusion token classified.
    case earlyCrossAttention = "early-xattn"
}

/// What a training step optimises (`--fusion-objective`, per stage).
public enum FusionObjective: String, SettingEnumeration {
    /// The fusion head's classification of all modalities together.
    case fused
    /// Each encoder's own classification through its unimodal head (`unimodal.<modality>.*`), the losses averaged over
    /// the modalities; the fusion head is frozen (the first stage of the three-stage schedule).
    case unimodal
}

/// How late fusion weighs each modality's logits (`--late-weights`).
public enum LateFusionWeights: String, SettingEnumeration {
    /// Every present modality counts the same.
    case mean
    /// A learned weight per modality (a softmax over one parameter per modality).
    case learned
}

/// Settings only the fusion classifier reads.
public struct FusionSettings: SettingCatalog {
    public static let declared = FusionSettings()
    public var families: [String]? { ["fusion"] }

    public let fusion = Setting("fusion", FusionKind.late, help: "How the modalities are fused: late, gated, early or early-xattn.")
    public let modalities = Setting("modalities", "image,text", help: "The modalities read, comma-separated (image, text, audio); one alone is a unimodal baseline.",
                                    check: { @Sendable value in (try? FusionModality.list(value)) == nil ? "must list image, text and/or audio, each once" : nil })
    public let numClasses = Setting("num-classes", 2, help: "Classes of the classifier.", check: SettingCheck.positive)
    public let multiLabel = Setting("multi-label", false,
                                    help: "Multi-label classification: each sample's classes from its labels field (a .labels member, \"labels\" in its .json, or --csv-labels-key), sigmoid binary cross-entropy, metrics val_map, val_map_micro, val_macro_f1 at a tuned threshold.")
    public let classWeights = Setting("class-weights", "", help: "Loss weight of each class, comma-separated (one per class); empty: all 1.")
    public let modelImage = Setting("model-image", "clip-tiny", help: "Image encoder: a model name or JSON path (a CLIP config's vision_cfg, or a tower config itself).")
    public let modelText = Setting("model-text", "clip-tiny", help: "Text encoder: a model name or JSON path (a CLIP config's text_cfg, or a tower config itself).")
    public let lateWeights = Setting("late-weights", LateFusionWeights.mean, help: "Late fusion: mean of the modalities' logits, or learned weights.")
    public let gatedWidth = Setting("gated-width", 0, help: "Gated fusion: width of each modality's hidden h_m (0: the widest encoder's output).",
                                    check: SettingCheck.nonNegative)
    public let earlyWidth = Setting("early-width", 0, help: "Early fusion: width of the joint transformer (0: the widest encoder's).",
                                    check: SettingCheck.nonNegative)
    public let earlyLayers = Setting("early-layers", 1, help: "Early fusion: blocks of the joint transformer.", check: SettingCheck.positive)
    public let earlyHeads = Setting("early-heads", 2, help: "Early fusion: attention heads of the joint transformer (dividing its width).",
                                    check: SettingCheck.positive)
    public let skipIncomplete = Setting("skip-incomplete", false,
                                        help: "Skip (and count) samples lacking a modality or label the model reads; without it such a sample is an error naming its shard and key.")
    public let fusionObjective = Setting("fusion-objective", FusionObjective.fused,
                                         help: "What training optimises: fused (the fusion head's classification) or unimodal (each encoder through its own linear classifier unimodal.<modality>, the losses averaged, the fusion head frozen; the model then has these heads, and so it has when any stage sets unimodal). A stage may set it.",
                                         perStage: true)
    public let modalityDropout = Setting("modality-dropout", 0.0,
                                         help: "Training only: probability of dropping each modality of a sample (never all of them), drawn from --seed and the sample's index.",
                                         check: SettingCheck.within(0.0...0.99))
}

extension Settings {
    public subscript<V>(dynamicMember path: KeyPath<FusionSettings, Setting<V>>) -> V {
        get { self[FusionSettings.declared[keyPath: path]] }
        set { self[FusionSettings.declared[keyPath: path]] = newValue }
    }
}
