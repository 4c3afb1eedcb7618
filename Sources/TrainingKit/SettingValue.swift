import Foundation

/// A type a setting can hold: parsed from the text of a flag or recipe value, written back as canonical text.
public protocol SettingValue: Sendable, Equatable {
    /// The value `text` denotes, or nil when it is not one.
    static func parse(_ text: String) -> Self?
    /// Canonical text that `parse` reads back to an equal value; nil means "unset" (left out of recipes).
    var settingText: String? { get }
    /// What a valid value looks like, for error messages ("an integer", "one of cosine, const").
    static var expectation: String { get }
    /// Whether a bare `--flag` (no value) means "on", as OpenCLIP's switches do.
    static var isSwitch: Bool { get }
    /// Whether every argument up to the next `--flag` belongs to the value (OpenCLIP's `nargs='*'` options).
    static var takesSeveralArguments: Bool { get }
}

extension SettingValue {
    public static var isSwitch: Bool { false }
    public static var takesSeveralArguments: Bool { false }
}

extension Int: SettingValue {
    public static func parse(_ text: String) -> Int? { Int(text.trimmingCharacters(in: .whitespaces)) }
    public var settingText: String? { String(self) }
    public static var expectation: String { "an integer" }
}

extension UInt64: SettingValue {
    public static func parse(_ text: String) -> UInt64? { UInt64(text.trimmingCharacters(in: .whitespaces)) }
    public var settingText: String? { String(self) }
    public static var expectation: String { "a non-negative integer" }
}

extension Double: SettingValue {
    public static func parse(_ text: String) -> Double? {
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite else { return nil }
        return value
    }
    public var settingText: String? { "\(self)" }
    public static var expectation: String { "a number" }
}

extension Bool: SettingValue {
    public static func parse(_ text: String) -> Bool? {
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: return nil
        }
    }
    public var settingText: String? { self ? "true" : "false" }
    public static var expectation: String { "true or false" }
    public static var isSwitch: Bool { true }
}

extension String: SettingValue {
    public static func parse(_ text: String) -> String? { text }
    public var settingText: String? { self }
    public static var expectation: String { "text" }
}

/// An unset optional is left out of recipes; "null" or "none" unsets it.
extension Optional: SettingValue where Wrapped: SettingValue {
    public static func parse(_ text: String) -> Wrapped?? {
        if ["null", "none", "~"].contains(text.trimmingCharacters(in: .whitespaces).lowercased()) { return .some(nil) }
        return Wrapped.parse(text).map { .some($0) }
    }
    public var settingText: String? { self?.settingText }
    public static var expectation: String { Wrapped.expectation }
    public static var isSwitch: Bool { Wrapped.isSwitch }
}

/// A comma-separated list (`--report-to tensorboard,jsonl`; a YAML sequence in recipes).
extension Array: SettingValue where Element: SettingValue {
    public static func parse(_ text: String) -> [Element]? {
        var values: [Element] = []
        for part in text.split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let value = Element.parse(trimmed) else { return nil }
            values.append(value)
        }
        return values
    }
    public var settingText: String? { isEmpty ? nil : compactMap(\.settingText).joined(separator: ",") }
    public static var expectation: String { "a comma-separated list of \(Element.expectation)" }
}

/// Settings with a fixed set of values: an unknown value is an error listing the accepted ones.
public protocol SettingEnumeration: SettingValue, CaseIterable, RawRepresentable where RawValue == String {}

extension SettingEnumeration {
    public static func parse(_ text: String) -> Self? { Self(rawValue: text.trimmingCharacters(in: .whitespaces)) }
    public var settingText: String? { rawValue }
    public static var expectation: String { "one of " + allCases.map(\.rawValue).joined(separator: ", ") }
}
