import TrainingKit

/// Settings only CLIP training reads (OpenCLIP's flag names).
public struct CLIPSettings: SettingCatalog {
    public static let declared = CLIPSettings()
    public var families: [String]? { ["clip"] }

    public let lockText = Setting("lock-text", false, help: "Freeze the text tower.")
    public let siglip = Setting("siglip", false, help: "Use the SigLIP sigmoid loss (a learnable bias initialised to -10, temperature 10).")
    public let localLoss = Setting("local-loss", true,
                                   help: "Accepted for OpenCLIP compatibility; the loss is always this rank's rows against every rank's columns.")
    public let gatherWithGrad = Setting("gather-with-grad", true,
                                        help: "Accepted for OpenCLIP compatibility; gradients always flow back to every rank's features.")
}

extension Settings {
    public subscript<V>(dynamicMember path: KeyPath<CLIPSettings, Setting<V>>) -> V {
        get { self[CLIPSettings.declared[keyPath: path]] }
        set { self[CLIPSettings.declared[keyPath: path]] = newValue }
    }
}
