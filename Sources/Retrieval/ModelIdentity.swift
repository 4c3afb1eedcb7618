import Checkpoint
import Foundation
import NN

/// Which model produced a set of embeddings: embeddings (and indexes built from them) of different models are not
/// comparable, so every output records it and readers refuse a mismatch.
public struct ModelIdentity: Codable, Equatable, Sendable, CustomStringConvertible {
    /// The model family (`clip`, ...).
    public var family: String
    /// XXH3 of the model configuration's canonical JSON (sorted keys).
    public var configHash: String
    /// The checkpoint's training step; nil for a weights file.
    public var step: Int?
    /// XXH3 of every parameter value in store order, so two checkpoints of one config at one step still differ.
    public var parametersHash: String

    enum CodingKeys: String, CodingKey {
        case family, step
        case configHash = "config_hash"
        case parametersHash = "parameters_hash"
    }

    public init(family: String, configHash: String, step: Int?, parametersHash: String) {
        self.family = family
        self.configHash = configHash
        self.step = step
        self.parametersHash = parametersHash
    }

    /// The identity of a loaded model from its family, recorded configuration and parameters.
    public init(family: String, modelConfig: JSONValue, parameters: ParameterStore, step: Int?) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let config = try encoder.encode(modelConfig)
        let values = parameters.values.pointer
        self.init(family: family, configHash: ContentChecksum.hex(of: config), step: step,
                  parametersHash: ContentChecksum.hex(of: UnsafeRawBufferPointer(start: values, count: parameters.count * 4)))
    }

    public var description: String {
        "\(family) config \(configHash) step \(step.map(String.init) ?? "-") parameters \(parametersHash)"
    }
}
