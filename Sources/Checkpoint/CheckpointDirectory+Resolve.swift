import Foundation

/// A checkpoint that failed verification and was passed over, with the reason.
public struct SkippedCheckpoint: Sendable, CustomStringConvertible {
    public let url: URL
    public let error: CheckpointError
    public var description: String { "skipped \(url.lastPathComponent): \(error)" }
}

/// The checkpoint `resolveLatest` chose, plus every newer candidate it had to skip.
public struct ResolvedCheckpoint: Sendable {
    public let checkpoint: LoadedCheckpoint
    /// Candidates tried before `checkpoint` that did not verify, newest first; empty when `latest` was good.
    public let skipped: [SkippedCheckpoint]

    public var usedFallback: Bool { !skipped.isEmpty }

    /// One line for the training log when a fallback happened, `nil` otherwise.
    public var fallbackMessage: String? {
        guard usedFallback else { return nil }
        return "resuming from \(checkpoint.url.lastPathComponent) (step \(checkpoint.step)) because newer checkpoints failed: "
            + skipped.map(\.description).joined(separator: "; ")
    }
}

extension CheckpointDirectory {
    /// Loads the checkpoint `latest` points to, falling back to the newest older one that verifies.
    ///
    /// Returns `nil` when the directory holds no checkpoint at all (a fresh run). Throws when checkpoints
    /// exist but none verifies, so a run never silently restarts from scratch.
    public func resolveLatest() throws -> ResolvedCheckpoint? {
        var skipped: [SkippedCheckpoint] = []
        var candidates = try list().reversed().map(\.url)
        do {
            if let pointed = try latestPointer() {
                // The pointer wins over newer files (an operator may have rolled it back); fall back only to older ones.
                let pointedStep = CheckpointDirectory.step(fromFileName: pointed.lastPathComponent) ?? Int.max
                candidates = [pointed] + candidates.filter {
                    (CheckpointDirectory.step(fromFileName: $0.lastPathComponent) ?? Int.max) < pointedStep
                }
            }
        } catch let error as CheckpointError {
            skipped.append(SkippedCheckpoint(url: url.appendingPathComponent(CheckpointDirectory.latestPointerName), error: error))
        }
        for candidate in candidates {
            do {
                return ResolvedCheckpoint(checkpoint: try CheckpointFile.read(at: candidate), skipped: skipped)
            } catch let error as CheckpointError {
                skipped.append(SkippedCheckpoint(url: candidate, error: error))
            }
        }
        guard candidates.isEmpty else {
            throw CheckpointError.noValidCheckpoint(directory: url.path, failures: skipped.map(\.description))
        }
        return nil
    }
}
