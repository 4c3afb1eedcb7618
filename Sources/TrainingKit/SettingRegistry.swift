import Foundation

/// Every setting a run can have (the engine's and each family's), by name: it reads command lines and recipes into
/// `Settings`, checks that the settings given belong to the chosen family, and writes the resolved recipe.
public struct SettingRegistry: Sendable {
    public let all: [AnySetting]
    /// Registered family names, in registration order (the first is the default `--task`).
    public let families: [String]
    private let byName: [String: AnySetting]

    public init(catalogs: [any SettingCatalog], families: [String]) {
        var seen: [String: AnySetting] = [:], ordered: [AnySetting] = []
        for catalog in catalogs {
            for setting in catalog.declared {
                precondition(seen[setting.name] == nil, "setting --\(setting.name) is declared twice")
                seen[setting.name] = setting
                ordered.append(setting)
            }
        }
        all = ordered
        byName = seen
        self.families = families
    }

    public func setting(named name: String) -> AnySetting? { byName[name] }

    /// Sets `name` from `text` (a flag's or recipe's value); errors name the flag.
    public func apply(_ name: String, _ text: String, to settings: inout Settings) throws {
        guard let setting = byName[name] else { throw TrainingError("unknown setting --\(name)\(suggestion(for: name))") }
        settings.store(try setting.parse(text), for: setting)
    }

    /// Applies a command line: `--config FILE` first (a recipe), then every `--name value`, `--name=value` or bare switch
    /// (`--lock-image`) in order, so flags override the recipe.
    public func apply(arguments: [String], to settings: inout Settings) throws {
        var pairs: [(String, String)] = [], recipes: [String] = []
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            guard argument.hasPrefix("--"), argument.count > 2 else { throw TrainingError("unexpected argument '\(argument)' (settings are --name value)") }
            var name = String(argument.dropFirst(2)), value: String?
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            i += 1
            if value == nil {
                let next = i < arguments.count ? arguments[i] : nil
                if name != "config", let setting = byName[name], setting.isSwitch {
                    // A bare switch means true; an explicit true/false after it is its value.
                    if let next, Bool.parse(next) != nil { value = next; i += 1 } else { value = "true" }
                } else {
                    guard let next, !next.hasPrefix("--") else {
                        let expected = byName[name]?.expectation ?? "a recipe file"
                        throw TrainingError("--\(name) needs a value (\(expected))")
                    }
                    var parts = [next]
                    i += 1
                    if byName[name]?.takesSeveralArguments == true {
                        while i < arguments.count, !arguments[i].hasPrefix("--") { parts.append(arguments[i]); i += 1 }
                    }
                    value = parts.joined(separator: " ")
                }
            }
            if name == "config" { recipes.append(value!) } else { pairs.append((name, value!)) }
        }
        for recipe in recipes { try apply(recipe: recipe, to: &settings) }
        for (name, value) in pairs { try apply(name, value, to: &settings) }
    }

    /// Applies a YAML recipe whose keys are the long flag names; errors name the file.
    public func apply(recipe path: String, to settings: inout Settings) throws {
        for (key, text) in try RecipeFile.read(path) {
            do { try apply(key, text, to: &settings) } catch let error as TrainingError { throw TrainingError("\(path): \(error.description)") }
        }
    }

    /// `settings` as they are while `stage` runs: its `settings:` applied over the run's. Errors name the stage and the
    /// setting: an unknown one, one the run's family does not read, one not declared `perStage`, or a bad value.
    public func settings(_ settings: Settings, in stage: Stage) throws -> Settings {
        var result = settings
        for (name, text) in stage.settings.sorted(by: { $0.key < $1.key }) {
            guard let setting = byName[name] else { throw TrainingError("stage \(stage.name): unknown setting '\(name)'\(suggestion(for: name))") }
            guard setting.families?.contains(settings.task) ?? true else {
                throw TrainingError("stage \(stage.name): --\(name) is not a setting of --task \(settings.task)")
            }
            guard setting.perStage else {
                let allowed = all.filter { $0.perStage && ($0.families?.contains(settings.task) ?? true) }.map { "--\($0.name)" }
                throw TrainingError("stage \(stage.name): --\(name) cannot change between stages (a stage may set: \(allowed.isEmpty ? "none" : allowed.joined(separator: ", ")))")
            }
            do { try apply(name, text, to: &result) } catch let error as TrainingError { throw TrainingError("stage \(stage.name): \(error.description)") }
        }
        return result
    }

    /// Checks that every setting given is one the chosen family reads, and that the family is registered.
    public func checkFamily(of settings: Settings) throws {
        let task = settings.task
        guard families.contains(task) else {
            throw TrainingError("--task: '\(task)' is not a registered model family (known: \(families.joined(separator: ", ")))")
        }
        for name in settings.recorded.keys.sorted() {
            guard let owners = byName[name]?.families, !owners.contains(task) else { continue }
            throw TrainingError("--\(name) is a setting of \(owners.joined(separator: ", ")), not of --task \(task)")
        }
    }

    /// The settings as a recipe `--config` reads back: one `name: value` line per setting the family reads, defaults
    /// included (unset optional settings are left out).
    public func recipe(of settings: Settings) -> String {
        let values = settings.recorded
        var lines: [String] = []
        for setting in all where setting.families?.contains(settings.task) ?? true {
            guard let text = values[setting.name] ?? setting.defaultText else { continue }
            lines.append("\(setting.name): \(RecipeFile.yamlScalar(text))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Every setting, grouped by family, for `swiftclip train --help`.
    public var helpText: String {
        var text = "Settings (flags and recipe keys; switches may be given bare):\n"
        for setting in all {
            let owners = setting.families.map { " [\($0.joined(separator: ", "))]" } ?? ""
            let fallback = setting.defaultText.map { " (default \($0 == "\t" ? "\\t" : $0))" } ?? ""
            text += "  --\(setting.name)\(owners): \(setting.help)\(fallback)\n"
        }
        return text
    }

    private func suggestion(for name: String) -> String {
        let close = all.map(\.name).filter { $0.hasPrefix(String(name.prefix(4))) }
        return close.isEmpty ? "" : " (did you mean \(close.prefix(3).map { "--" + $0 }.joined(separator: ", "))?)"
    }
}
