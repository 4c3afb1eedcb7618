import Foundation
import Retrieval
import Training

/// The embedding model of a checkpoint of any family (the newest that verifies, for a checkpoints/ folder), with
/// `merges` as the CLIP BPE file for 49,408-id models and `overrides` (setting name, value) replacing what the run
/// recorded; warnings go to stderr prefixed by `command`.
func loadEmbeddingModel(checkpoint: String, merges: String?, overrides: [(String, String)] = [], command: String) throws -> EmbeddingModel {
    let loaded = try CheckpointModel(checkpoint) { FileHandle.standardError.write(Data("swiftclip \(command): \($0)\n".utf8)) }
    var settings = loaded.settings
    for (name, value) in (merges.map { [("merges", $0)] } ?? []) + overrides { try Families.registry.apply(name, value, to: &settings) }
    return try EmbeddingModels.model(for: loaded.task, family: loaded.family.name, settings: settings, step: loaded.checkpoint.step,
                                     runDirectory: loaded.runDirectory)
}
