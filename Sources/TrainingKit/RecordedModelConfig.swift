import Checkpoint
import Foundation
import NN

extension ConfigSection {
    /// A model config as a checkpoint records it (JSON in its header), read by the same rules as a model-config file.
    public init(recorded json: JSONValue) throws {
        let value = try JSONDecoder().decode(ConfigValue.self, from: try JSONEncoder().encode(json))
        try self.init(value, name: "")
    }
}
