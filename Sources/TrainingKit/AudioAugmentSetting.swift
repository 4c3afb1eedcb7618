import DataPipeline

/// The `--audio-augment` setting: `key=value` items (`gain_db=6 shift_s=0.2 noise=0.005 time_mask=24 freq_mask=16`), or
/// `none`; see `AudioAugmentation`. Like `--aug-cfg`, the items may follow the flag as separate arguments.
public struct AudioAugmentSetting: DetailedSettingValue {
    /// The items as given.
    public let items: [String]
    public let augmentation: AudioAugmentation

    public init() {
        items = []
        augmentation = AudioAugmentation()
    }

    private init(items: [String], augmentation: AudioAugmentation) {
        self.items = items
        self.augmentation = augmentation
    }

    public static func parseExplaining(_ text: String) throws -> AudioAugmentSetting {
        let items = text.split(separator: " ").map(String.init)
        do {
            return AudioAugmentSetting(items: items, augmentation: try AudioAugmentation(parsing: items))
        } catch {
            throw TrainingError("\(error)")
        }
    }

    public static func parse(_ text: String) -> AudioAugmentSetting? { try? parseExplaining(text) }
    public var settingText: String? { items.isEmpty ? nil : items.joined(separator: " ") }
    public static var expectation: String { "audio augmentation items key=value" }
    public static var takesSeveralArguments: Bool { true }
    public static func == (a: AudioAugmentSetting, b: AudioAugmentSetting) -> Bool { a.augmentation == b.augmentation }
}
