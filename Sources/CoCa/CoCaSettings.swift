import TrainingKit

/// Settings only CoCa training reads (OpenCLIP's flag names and defaults); `--lock-image` is `ImageTowerSettings`'.
public struct CoCaSettings: SettingCatalog {
    public static let declared = CoCaSettings()
    public var families: [String]? { ["coca"] }

    public let cocaCaptionLossWeight = Setting("coca-caption-loss-weight", 2.0, help: "Weight of the captioning cross-entropy.",
                                               check: SettingCheck.nonNegative)
    public let cocaContrastiveLossWeight = Setting("coca-contrastive-loss-weight", 1.0,
                                                   help: "Weight of the contrastive loss; 0 trains a pure captioner (no gather of latents).",
                                                   check: SettingCheck.nonNegative)
    public let valCaptionMinLength = Setting("val-caption-min-length", 5,
                                             help: "Minimum length of validation captions in tokens, start token included (OpenCLIP generate()'s min_seq_len; 2 lets one-word captions end).",
                                             check: SettingCheck.positive)
}

extension Settings {
    public subscript<V>(dynamicMember path: KeyPath<CoCaSettings, Setting<V>>) -> V {
        get { self[CoCaSettings.declared[keyPath: path]] }
        set { self[CoCaSettings.declared[keyPath: path]] = newValue }
    }
}
