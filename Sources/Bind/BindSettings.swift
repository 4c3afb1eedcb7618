import TrainingKit

/// The modality a bind run attaches to a CLIP's image space (`--bind-modality`).
public enum BindModality: String, SettingEnumeration {
    /// Log-mel spectrograms through a spectrogram ViT (AST/ImageBind's audio tower).
    case audio
}

/// Settings only the binding family reads (ImageBind: a new modality's encoder trained against a CLIP's image tower).
public struct BindSettings: SettingCatalog {
    public static let declared = BindSettings()
    public var families: [String]? { ["bind"] }

    public let bindModality = Setting("bind-modality", BindModality.audio, help: "The modality bound to the image embedding space: audio.")
    public let imageCheckpoint = Setting("image-checkpoint", "",
                                         help: "The CLIP checkpoint (file or folder) whose image tower the new modality is bound to (and whose text tower evaluation uses); required.")
    public let bindLogitScale = Setting("bind-logit-scale", 1 / 0.07,
                                        help: "Initial temperature exp(logit_scale) of the bound modality's contrastive loss (ImageBind fixes audio's at 20).",
                                        check: SettingCheck.positive)
    public let bindFixedLogitScale = Setting("bind-fixed-logit-scale", false,
                                             help: "Keep --bind-logit-scale fixed (ImageBind's per-modality temperature) instead of learning it.")
    public let bindTrainImage = Setting("bind-train-image", false,
                                        help: "Train the image tower too: plain audio-image contrastive training (CLIP's loss with audio in place of text), no longer binding to a fixed space.")
}

extension Settings {
    public subscript<V>(dynamicMember path: KeyPath<BindSettings, Setting<V>>) -> V {
        get { self[BindSettings.declared[keyPath: path]] }
        set { self[BindSettings.declared[keyPath: path]] = newValue }
    }
}
