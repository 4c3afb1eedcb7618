import Bind
import CLIP
import CoCa
import Fusion
import TrainingKit

/// The model families `swiftclip` knows: adding a family is one module and one line here.
public enum Families {
    public static let all: [any ModelFamily.Type] = [
        CLIPFamily.self,
        CoCaFamily.self,
        FusionFamily.self,
        BindFamily.self,
    ]

    /// Every setting: the engine's, those several families share, then each family's.
    public static let registry = SettingRegistry(catalogs: [EngineSettings.declared, ImageTowerSettings.declared, HardNegativeSettings.declared, PretrainedTowerSettings.declared, AudioTowerSettings.declared] + all.map { $0.settings },
                                                 families: all.map { $0.name })

    /// The family called `name` (`--task`, or a checkpoint's record).
    public static func family(named name: String) throws -> any ModelFamily.Type {
        guard let family = all.first(where: { $0.name == name }) else {
            throw TrainingError("'\(name)' is not a registered model family (known: \(all.map { $0.name }.joined(separator: ", ")))")
        }
        return family
    }

    /// A command line of settings (`--config RECIPE`, then `--name value` pairs), checked against the chosen family.
    public static func settings(arguments: [String]) throws -> Settings {
        var settings = Settings()
        try registry.apply(arguments: arguments, to: &settings)
        try registry.checkFamily(of: settings)
        return settings
    }
}
