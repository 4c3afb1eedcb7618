import Foundation

/// The resolved settings of a run: every declared setting's value (its default unless set).
///
/// Read them by name, typed: `settings.batchSize`, `settings.lockImage` (each catalog adds a dynamic-member subscript
/// over its key paths), or `settings[setting]`.
@dynamicMemberLookup
public struct Settings: Sendable, Equatable {
    private var values: [String: any SettingValue] = [:]

    public init() {}

    public subscript<V>(_ setting: Setting<V>) -> V {
        get { values[setting.name] as? V ?? setting.defaultValue }
        set { values[setting.name] = newValue == setting.defaultValue ? nil : newValue }
    }

    public subscript<V>(dynamicMember path: KeyPath<EngineSettings, Setting<V>>) -> V {
        get { self[EngineSettings.declared[keyPath: path]] }
        set { self[EngineSettings.declared[keyPath: path]] = newValue }
    }

    /// Sets the setting called `setting.name` from already-validated text.
    /// A value equal to the default is not kept, so two settings are equal exactly when every effective value is.
    mutating func store(_ value: any SettingValue, for setting: AnySetting) {
        values[setting.name] = value.settingText == setting.defaultText ? nil : value
    }

    /// Canonical text of every setting whose value differs from its default, by name (what checkpoints record).
    public var recorded: [String: String] {
        values.compactMapValues(\.settingText)
    }

    public static func == (a: Settings, b: Settings) -> Bool { a.recorded == b.recorded }
}
