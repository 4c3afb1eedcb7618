import Foundation

/// A value of a model-config JSON document.
public enum ConfigValue: Decodable, Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([ConfigValue])
    case object([String: ConfigValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null } else if let value = try? container.decode(Bool.self) { self = .bool(value) } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) { self = .string(value) } else if let value = try? container.decode([ConfigValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: ConfigValue].self))
        }
    }

    /// The value as it reads in a message and in a list of accepted values: `null`, `true`, `3`, `0.1`, a string.
    public var literal: String {
        switch self {
        case .null: return "null"
        case let .bool(value): return value ? "true" : "false"
        case let .number(value): return value.rounded() == value && abs(value) < 1e15 ? String(Int(value)) : String(value)
        case let .string(value): return value
        case .array, .object: return "<object>"
        }
    }
}

/// One object of a model config (the whole document, or a section such as `vision_cfg`), read by OpenCLIP's rule: a key
/// that SwiftCLIP implements takes its default when absent; a key OpenCLIP has but SwiftCLIP does not implement is
/// accepted only at the values listed for it; any other key is an error naming it. Every tower config reads this way.
public struct ConfigSection: Sendable {
    /// The section's key (`vision_cfg`), or "" for the document itself.
    public let name: String
    public let values: [String: ConfigValue]

    public init(_ value: ConfigValue?, name: String) throws {
        guard case let .object(values) = value else {
            throw ConfigError(name.isEmpty ? "not a JSON object" : "\(name) is missing or not an object")
        }
        self.name = name
        self.values = values
    }

    /// A model-config file: the whole document, or its `open_clip_model_config` (a parity fixture's `config.json`).
    /// Errors name neither the file nor the key path; callers prefix the file.
    public static func document(path: String) throws -> ConfigSection {
        guard let data = FileManager.default.contents(atPath: path) else { throw ConfigError("cannot read file") }
        guard let document = try? JSONDecoder().decode(ConfigValue.self, from: data) else { throw ConfigError("not valid JSON") }
        if case let .object(object) = document, let inner = object["open_clip_model_config"] { return try ConfigSection(inner, name: "") }
        return try ConfigSection(document, name: "")
    }

    public func contains(_ key: String) -> Bool { values[key] != nil }

    /// The nested object `key`, an error naming it when it is missing or not an object.
    public func section(_ key: String) throws -> ConfigSection { try ConfigSection(values[key], name: path(key)) }

    /// `vision_cfg.width` for messages.
    public func path(_ key: String) -> String { name.isEmpty ? key : "\(name).\(key)" }

    /// Every key is `known`, or an OpenCLIP key at one of its accepted values (`"key:literal"` in `acceptedOnlyAt`).
    public func check(known: Set<String>, acceptedOnlyAt: Set<String> = []) throws {
        for (key, value) in values.sorted(by: { $0.key < $1.key }) where !known.contains(key) {
            if acceptedOnlyAt.contains("\(key):\(value.literal)") { continue }
            if acceptedOnlyAt.contains(where: { $0.hasPrefix(key + ":") }) {
                throw ConfigError("\(path(key)) = \(value.literal) is not supported (only its OpenCLIP default)")
            }
            throw ConfigError("unknown key \(path(key)) (known: \(known.sorted().joined(separator: ", ")))")
        }
    }

    public func int(_ key: String, _ fallback: Int) throws -> Int {
        switch values[key] {
        case nil: return fallback
        case let .number(value)? where value.rounded() == value && abs(value) < 1e15: return Int(value)
        default: throw ConfigError("\(path(key)) is not an integer")
        }
    }

    public func double(_ key: String, _ fallback: Double) throws -> Double {
        switch values[key] {
        case nil: return fallback
        case let .number(value)?: return value
        default: throw ConfigError("\(path(key)) is not a number")
        }
    }

    public func bool(_ key: String, _ fallback: Bool) throws -> Bool {
        switch values[key] {
        case nil: return fallback
        case let .bool(value)?: return value
        default: throw ConfigError("\(path(key)) is not true or false")
        }
    }

    /// An optional number (`init_logit_bias`): nil when absent or null.
    public func optionalDouble(_ key: String) throws -> Double? {
        if values[key] == nil || values[key] == .null { return nil }
        return try double(key, 0)
    }

    /// An optional integer: nil when absent or null.
    public func optionalInt(_ key: String) throws -> Int? {
        if values[key] == nil || values[key] == .null { return nil }
        return try int(key, 0)
    }
}
