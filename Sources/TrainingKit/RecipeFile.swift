import Foundation
import Yams

/// YAML recipes: a mapping of long flag names to values. Scalars and lists of scalars become the text a flag would
/// take; nested structures (the stage list) become JSON text.
enum RecipeFile {
    /// The recipe's settings as (name, text), in key order.
    static func read(_ path: String) throws -> [(String, String)] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw TrainingError("\(path): cannot read recipe") }
        let node: Any?
        do { node = try Yams.load(yaml: text) } catch {
            throw TrainingError("\(path): not valid YAML (\(String(describing: error).split(separator: "\n").first ?? ""))")
        }
        guard let mapping = node as? [String: Any] else {
            if node == nil { return [] }
            throw TrainingError("\(path): a recipe must be a mapping of flag names to values")
        }
        return try mapping.keys.sorted().map { key in
            guard let text = settingText(mapping[key]!) else { throw TrainingError("\(path): key '\(key)' has a value of an unexpected kind") }
            return (key, text)
        }
    }

    static func settingText(_ value: Any) -> String? {
        switch value {
        case is NSNull: return "null"
        case let bool as Bool: return bool ? "true" : "false"
        case let string as String: return string
        case let list as [Any] where list.allSatisfy({ !($0 is [Any] || $0 is [String: Any]) }):
            return list.compactMap(settingText).joined(separator: ",")
        case is [Any], is [String: Any]:
            guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]) else { return nil }
            return String(decoding: data, as: UTF8.self)
        default: return "\(value)"
        }
    }

    /// `text` as a YAML value that reads back as the same text: plain where YAML keeps it, JSON-quoted otherwise.
    static func yamlScalar(_ text: String) -> String {
        if text.hasPrefix("[") || text.hasPrefix("{") { return text }  // JSON structures are YAML flow collections
        if let loaded = try? Yams.load(yaml: "v: " + text) as? [String: Any], let value = loaded["v"], settingText(value) == text {
            return text
        }
        let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
    }
}
