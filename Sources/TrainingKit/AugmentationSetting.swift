import DataPipeline
import Foundation

/// The `--aug-cfg` setting: OpenCLIP's image augmentation keys as `key=value` items (`scale=(0.5,1.0)
/// color_jitter=(0.4,0.4,0.4,0.1) color_jitter_prob=0.8 gray_scale_prob=0.2`, or `none` for evaluation preprocessing).
/// On the command line the items may follow the flag as separate arguments, as in OpenCLIP; a recipe gives them as one
/// string or as a mapping (`aug-cfg: {scale: [0.5, 1.0], gray_scale_prob: 0.2}`).
public struct AugmentationSetting: DetailedSettingValue {
    /// The items as given, each `key=value` (or `none`).
    public let items: [String]
    public let config: AugmentationConfig

    public init() {
        items = []
        config = AugmentationConfig()
    }

    public static func parseExplaining(_ text: String) throws -> AugmentationSetting {
        let items = try Self.items(text)
        do {
            return AugmentationSetting(items: items, config: try AugmentationConfig(parsing: items))
        } catch {
            throw TrainingError("\(error)")
        }
    }

    private init(items: [String], config: AugmentationConfig) {
        self.items = items
        self.config = config
    }

    /// Items of a JSON mapping (a recipe's nested form) or of plain `key=value` text.
    static func items(_ text: String) throws -> [String] {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("{") else { return trimmed.isEmpty ? [] : [trimmed] }
        guard let mapping = (try? JSONSerialization.jsonObject(with: Data(trimmed.utf8))) as? [String: Any] else {
            throw TrainingError("--aug-cfg: '\(text)' is not a mapping of augmentation keys")
        }
        return mapping.keys.sorted().map { key in
            let value = mapping[key]!
            if let list = value as? [Any] { return "\(key)=(\(list.map { "\($0)" }.joined(separator: ",")))" }
            return "\(key)=\(value)"
        }
    }

    public static func parse(_ text: String) -> AugmentationSetting? { try? parseExplaining(text) }
    public var settingText: String? { items.isEmpty ? nil : items.joined(separator: " ") }
    public static var expectation: String { "augmentation items key=value" }
    public static var takesSeveralArguments: Bool { true }
    public static func == (a: AugmentationSetting, b: AugmentationSetting) -> Bool { a.config == b.config }
}
