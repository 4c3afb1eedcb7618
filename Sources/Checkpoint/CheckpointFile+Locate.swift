import Foundation

extension CheckpointFile {
    /// Loads the checkpoint a user named: a checkpoint file, a folder of checkpoints (its newest one that verifies), or
    /// such a folder's `latest` pointer file (standing for its folder). Returns nil for a folder without checkpoints;
    /// `messages` receives the note when newer checkpoints failed verification and an older one was taken.
    public static func locate(_ path: String, messages: (String) -> Void) throws -> LoadedCheckpoint? {
        var target = path
        if URL(fileURLWithPath: path).lastPathComponent == CheckpointDirectory.latestPointerName {
            target = URL(fileURLWithPath: path).deletingLastPathComponent().path
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory) else {
            throw CheckpointError.fileNotFound(path: path)
        }
        if !isDirectory.boolValue { return try read(at: URL(fileURLWithPath: target)) }
        guard let resolved = try CheckpointDirectory(url: URL(fileURLWithPath: target), create: false).resolveLatest() else {
            return nil
        }
        if let note = resolved.fallbackMessage { messages(note) }
        return resolved.checkpoint
    }
}
