/// Settings of the families that train an OpenCLIP image tower (`visual.`) beside other parts.
public struct ImageTowerSettings: SettingCatalog {
    public static let declared = ImageTowerSettings()
    public var families: [String]? { ["clip", "coca"] }

    public let lockImage = Setting("lock-image", false, help: "Freeze the image tower (visual.).")
    public let forcePatchDropout = Setting("force-patch-dropout", 0.0,
                                           help: "FLIP's patch dropout: the share of image patch tokens dropped in training (class token kept; the mask is seeded by --seed and each image's pixels); evaluation uses every patch. A stage may set it (0 for a final unmasked phase).",
                                           perStage: true,
                                           check: { @Sendable value in value >= 0 && value < 1 ? nil : "must be at least 0 and below 1" })
}

extension Settings {
    public subscript<V>(dynamicMember path: KeyPath<ImageTowerSettings, Setting<V>>) -> V {
        get { self[ImageTowerSettings.declared[keyPath: path]] }
        set { self[ImageTowerSettings.declared[keyPath: path]] = newValue }
    }
}
