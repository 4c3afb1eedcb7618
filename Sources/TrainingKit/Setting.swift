import Foundation

/// One setting, declared once: its flag and recipe key, type, default, help and validation.
///
/// `--name value` on the command line and `name: value` in a YAML recipe set it; the resolved `recipe.yaml` writes it
/// back under the same name. Declare settings as stored properties of a `SettingCatalog`.
public struct Setting<Value: SettingValue>: Sendable {
    public let name: String
    public let defaultValue: Value
    public let help: String
    /// Whether a stage of the staged schedule may give it another value (its `settings:`); the family reads it again
    /// in `TrainingTask.applyStageSettings` whenever the stage changes.
    public let perStage: Bool
    /// An error message for a value that parses but is not allowed (nil when allowed).
    let check: @Sendable (Value) -> String?

    public init(_ name: String, _ defaultValue: Value, help: String, perStage: Bool = false,
                check: @escaping @Sendable (Value) -> String? = { _ in nil }) {
        self.name = name
        self.defaultValue = defaultValue
        self.help = help
        self.perStage = perStage
        self.check = check
    }

    /// The value `text` denotes, or an error naming the flag.
    public func value(parsing text: String) throws -> Value {
        let parsed: Value?
        if let detailed = Value.self as? any DetailedSettingValue.Type {
            parsed = try detailed.parseExplaining(text) as? Value
        } else {
            parsed = Value.parse(text)
        }
        guard let value = parsed else { throw TrainingError("--\(name): '\(text)' is not \(Value.expectation)") }
        if let problem = check(value) { throw TrainingError("--\(name) \(problem), got \(text)") }
        return value
    }
}

/// A setting with its type erased, as registries, parsers and help texts see it.
public struct AnySetting: Sendable {
    public let name: String
    public let help: String
    /// Families that read it; nil: every family (the engine's settings).
    public let families: [String]?
    public let isSwitch: Bool
    public let takesSeveralArguments: Bool
    public let expectation: String
    public let defaultText: String?
    /// A stage may override it (`Setting.perStage`).
    public let perStage: Bool
    let parse: @Sendable (String) throws -> any SettingValue

    init<V>(_ setting: Setting<V>, families: [String]?) {
        name = setting.name
        help = setting.help
        perStage = setting.perStage
        self.families = families
        isSwitch = V.isSwitch
        takesSeveralArguments = V.takesSeveralArguments
        expectation = V.expectation
        defaultText = setting.defaultValue.settingText
        parse = { try setting.value(parsing: $0) }
    }
}

/// Checks reusable across settings; each returns the complaint that follows the flag name.
public enum SettingCheck {
    public static func positive<T: Comparable & ExpressibleByIntegerLiteral>(_ value: T) -> String? { value > 0 ? nil : "must be positive" }
    public static func nonNegative<T: Comparable & ExpressibleByIntegerLiteral>(_ value: T) -> String? { value >= 0 ? nil : "must not be negative" }
    public static func positiveIfSet<T: Comparable & ExpressibleByIntegerLiteral>(_ value: T?) -> String? { value.flatMap(positive) }
    public static func nonNegativeIfSet<T: Comparable & ExpressibleByIntegerLiteral>(_ value: T?) -> String? { value.flatMap(nonNegative) }
    public static func within<T: Comparable>(_ range: ClosedRange<T>) -> @Sendable (T) -> String? where T: Sendable {
        { range.contains($0) ? nil : "must be in \(range.lowerBound)...\(range.upperBound)" }
    }
}

/// A group of settings declared as stored `Setting` properties (found by reflection, so a declaration is all it takes).
public protocol SettingCatalog: Sendable {
    /// Families whose runs read these settings; nil: every family.
    var families: [String]? { get }
}

extension SettingCatalog {
    public var families: [String]? { nil }

    /// Every setting the catalog declares, in declaration order.
    public var declared: [AnySetting] {
        Mirror(reflecting: self).children.compactMap { ($0.value as? any ErasableSetting)?.erased(families: families) }
    }
}

protocol ErasableSetting { func erased(families: [String]?) -> AnySetting }
extension Setting: ErasableSetting {
    func erased(families: [String]?) -> AnySetting { AnySetting(self, families: families) }
}
