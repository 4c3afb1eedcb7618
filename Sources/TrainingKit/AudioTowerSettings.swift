import NN

/// Settings of the families that encode audio with a spectrogram ViT (fusion's audio modality, binding).
public struct AudioTowerSettings: SettingCatalog {
    public static let declared = AudioTowerSettings()
    public var families: [String]? { ["fusion", "bind"] }

    public let modelAudio = Setting("model-audio", "audio-tiny",
                                    help: "Audio encoder: a model name or JSON path (a spectrogram ViT's audio_cfg section, or the tower config itself, e.g. cluster-configs/models/audio-tiny.json); its mel_bins and frames set the loader's filter banks.")

    /// The audio tower `--model-audio` names, and the model's `embed_dim` when its file has one.
    public static func tower(_ settings: Settings) throws -> (config: SpectrogramTransformerConfig, embedDim: Int?) {
        do { return try SpectrogramTransformerConfig.load(path: try ModelConfigFiles.path(settings.modelAudio)) } catch let error as ConfigError {
            throw TrainingError("--model-audio \(settings.modelAudio): \(error.description)")
        }
    }
}

extension Settings {
    public subscript<V>(dynamicMember path: KeyPath<AudioTowerSettings, Setting<V>>) -> V {
        get { self[AudioTowerSettings.declared[keyPath: path]] }
        set { self[AudioTowerSettings.declared[keyPath: path]] = newValue }
    }
}
