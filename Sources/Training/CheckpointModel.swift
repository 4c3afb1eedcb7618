import Checkpoint
import Foundation
import TrainingKit

/// A model loaded from a checkpoint of any family, with the settings its run recorded.
public struct CheckpointModel {
    public let task: TrainingTask
    public let family: any ModelFamily.Type
    public let metadata: CheckpointMetadata
    public let checkpoint: LoadedCheckpoint
    /// The run's settings as recorded (defaults for settings the checkpoint does not name).
    public let settings: Settings

    /// Loads `path` (a checkpoint file, a checkpoints folder meaning its newest checkpoint that verifies, or the folder's
    /// `latest` pointer) after verifying it, and restores its parameters into a model of its recorded family and config.
    public init(_ path: String, messages: (String) -> Void) throws {
        guard let loaded = try RunCheckpoints.load(path, runCheckpoints: path, messages: messages) else {
            throw TrainingError("\(path): no checkpoint found")
        }
        checkpoint = loaded
        metadata = try RunCheckpoints.metadata(of: loaded)
        family = try Families.family(named: metadata.familyName)
        var recorded = Settings()
        for (name, text) in (metadata.state.settings ?? [:]).sorted(by: { $0.key < $1.key }) {
            // A setting this build no longer knows cannot change how the saved model is rebuilt; it is skipped.
            guard Families.registry.setting(named: name) != nil else { continue }
            try Families.registry.apply(name, text, to: &recorded)
        }
        settings = recorded
        task = try family.makeTask(modelConfig: metadata.model, settings: recorded)
        _ = try RunCheckpoints.restore(loaded, into: task, family: family.name, allowingWeightsOnly: true)
        task.checkpointAttachment = metadata.tokenizer
    }

    /// The run folder the checkpoint belongs to (LOGS/NAME/checkpoints/step-N.sclip → LOGS/NAME).
    public var runDirectory: String { checkpoint.url.deletingLastPathComponent().deletingLastPathComponent().path }
}
