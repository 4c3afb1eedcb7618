/// Where a family's towers start from instead of random values (`PretrainedWeights`): each family maps its tower's
/// parameters onto the source's keys, whether the source is a CLIP or CoCa checkpoint or OpenCLIP safetensors.
/// Applied when a run starts fresh; a resumed run takes every value from its own checkpoint.
public struct PretrainedTowerSettings: SettingCatalog {
    public static let declared = PretrainedTowerSettings()
    public var families: [String]? { ["clip", "coca", "fusion"] }

    public let initImage = Setting("init-image", "", help: "Start the image tower from this checkpoint (file or folder) or safetensors file.")
    public let initText = Setting("init-text", "", help: "Start the text tower from this checkpoint (file or folder) or safetensors file.")
}

extension Settings {
    public subscript<V>(dynamicMember path: KeyPath<PretrainedTowerSettings, Setting<V>>) -> V {
        get { self[PretrainedTowerSettings.declared[keyPath: path]] }
        set { self[PretrainedTowerSettings.declared[keyPath: path]] = newValue }
    }
}

/// OpenCLIP's key layout of a CLIP model's towers, which CLIP, CoCa and OpenCLIP safetensors share for the image tower
/// (`visual.`) and CoCa nests under `text.` for the text tower.
public enum OpenCLIPTowerKeys {
    /// Top-level keys of CLIP's text tower (OpenCLIP's `CLIP` keeps them at the root, not under `text.`).
    public static let clipTextRoots = ["token_embedding.", "positional_embedding", "transformer.", "ln_final.", "text_projection",
                                       "attn_mask"]

    /// Whether `name` (a CLIP state-dict key) belongs to the text tower.
    public static func isCLIPText(_ name: String) -> Bool { clipTextRoots.contains { name.hasPrefix($0) } }

    /// The source key of a text-tower parameter named `relative` (its name inside the tower, e.g. `transformer.resblocks.0...`)
    /// in `weights`: at the root for a CLIP checkpoint or safetensors, under `text.` for a CoCa one.
    public static func textSource(_ relative: String, in weights: PretrainedWeights) -> String {
        weights.family == "coca" || weights.tensors["text.positional_embedding"] != nil ? "text." + relative : relative
    }
}
