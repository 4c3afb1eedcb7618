/// Settings of the families that train an OpenCLIP image tower (`visual.`) beside other parts.
public struct ImageTowerSettings: SettingCatalog {
    public static let declared = ImageTowerSettings()
    public var families: [String]? { ["clip", "coca"] }

    public let lockImage = Setting("lock-image", false, help: "Freeze the image tower (visual.).")
}

extension Settings {
    public subscript<V>(dynamicMember path: KeyPath<ImageTowerSettings, Setting<V>>) -> V {
        get { self[ImageTowerSettings.declared[keyPath: path]] }
        set { self[ImageTowerSettings.declared[keyPath: path]] = newValue }
    }
}
