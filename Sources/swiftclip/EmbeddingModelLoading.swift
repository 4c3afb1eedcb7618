import Foundation
import Retrieval
import Training

/// The embedding model of a checkpoint of any family (the newest that verifies, for a checkpoints/ folder), with
/// `merges` as the CLIP BPE file for 49,408-id models; warnings go to stderr prefixed by `command`.
func loadEmbeddingModel(checkpoint: String, merges: String?, command: String) throws -> EmbeddingModel {
    let loaded = try CheckpointModel(checkpoint) { FileHandle.standardError.write(Data("swiftclip \(command): \($0)\n".utf8)) }
    var settings = loaded.settings
    if let merges { try Families.registry.apply("merges", merges, to: &settings) }
    return try EmbeddingModels.model(for: loaded.task, family: loaded.family.name, settings: settings, step: loaded.checkpoint.step,
                                     runDirectory: loaded.runDirectory)
}
