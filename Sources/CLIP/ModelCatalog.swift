import Foundation
import TrainingKit

/// CLIP model configs by name (`cluster-configs/models/NAME.json`) or path.
public enum ModelCatalog {
    /// The config for `nameOrPath`: a JSON file path, or a model name such as `clip-tiny` or `ViT-B-32`.
    public static func config(_ nameOrPath: String) throws -> CLIPConfig {
        try CLIPConfig.load(try ModelConfigFiles.path(nameOrPath))
    }
}
