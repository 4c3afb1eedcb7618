import Foundation

/// The `stages` setting: a staged schedule, written as a JSON (or YAML flow) sequence of stage mappings.
public struct StageList: SettingValue, DetailedSettingValue {
    public var stages: [Stage]

    public init(_ stages: [Stage] = []) { self.stages = stages }

    static let knownKeys: Set<String> = ["name", "train", "freeze", "lr", "warmup", "schedule", "steps", "samples", "plateau", "settings"]

    public static func parse(_ text: String) -> StageList? { try? parseExplaining(text) }

    public static func parseExplaining(_ text: String) throws -> StageList {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty || trimmed == "[]" { return StageList() }
        guard let list = (try? JSONSerialization.jsonObject(with: Data(trimmed.utf8))) as? [[String: Any]] else {
            throw TrainingError("--stages: not a list of stage mappings")
        }
        return StageList(try list.enumerated().map { index, entry in
            for key in entry.keys where !knownKeys.contains(key) {
                throw TrainingError("--stages: stage \(index + 1): unknown key '\(key)' (known: \(knownKeys.sorted().joined(separator: ", ")))")
            }
            do {
                var stage = try JSONDecoder().decode(Stage.self, from: try JSONSerialization.data(withJSONObject: entry))
                if stage.name.isEmpty { stage.name = "stage\(index + 1)" }
                return stage
            } catch {
                throw TrainingError("--stages: stage \(index + 1) is malformed (\(error))")
            }
        })
    }

    public var settingText: String? {
        guard !stages.isEmpty, let data = try? JSONEncoder.sorted.encode(stages) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    public static var expectation: String { "a list of stages" }
}

/// A setting type whose parse failures explain themselves (a stage list names the bad stage and key).
public protocol DetailedSettingValue: SettingValue {
    static func parseExplaining(_ text: String) throws -> Self
}

extension JSONEncoder {
    /// Keys sorted, slashes unescaped: stable text for recipes and checkpoint headers.
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
