import Foundation

/// Saves checkpoints on a background thread so training continues while data is compressed and written.
///
/// The caller hands over its own copies of the tensors. At most one save is in flight: `submit` first waits
/// for the previous save, which bounds memory to one snapshot. The durable-write order of
/// `CheckpointDirectory.save` is unchanged: rename and `latest` update happen only after fsync.
/// A failed background save is reported by the next `submit` or `wait`, exactly once.
public final class AsyncCheckpointWriter: @unchecked Sendable {
    public let directory: CheckpointDirectory
    public let options: CheckpointWriteOptions

    private let queue = DispatchQueue(label: "swiftclip.checkpoint.writer", qos: .utility)
    private let inFlight = DispatchGroup()
    private let lock = NSLock()
    // Makes wait-then-enqueue one step when several threads submit.
    private let submitLock = NSLock()
    private var pendingError: Error?
    private var completed: [CheckpointWriteSummary] = []

    public init(directory: CheckpointDirectory, options: CheckpointWriteOptions = .init()) {
        self.directory = directory
        self.options = options
    }

    /// Starts saving `tensors` at `step` in the background; returns once the previous save has finished.
    ///
    /// Throws the previous background save's error, if any, before starting this one.
    public func submit<Metadata: Encodable>(step: Int, tensors: [CheckpointTensor], metadata: Metadata) throws {
        // Encoding here keeps the caller's metadata type off the background thread and reports bad metadata at once.
        let metadataValue = try JSONValue(encoding: metadata)
        try submitLock.withLock { try submitLocked(step: step, tensors: tensors, metadataValue: metadataValue) }
    }

    /// Like `submit`, but never blocks: returns `false` (and saves nothing) while a previous save is running.
    ///
    /// For training loops that would rather skip a checkpoint than stall. Throws a finished save's error.
    public func submitIfIdle<Metadata: Encodable>(step: Int, tensors: [CheckpointTensor], metadata: Metadata) throws -> Bool {
        try submitLock.withLock {
            guard !isBusy else { return false }
            try submitLocked(step: step, tensors: tensors, metadataValue: JSONValue(encoding: metadata))
            return true
        }
    }

    /// Blocks until no save is in flight; returns the saves completed since the last call, oldest first.
    ///
    /// Throws the error of a failed background save.
    @discardableResult
    public func wait() throws -> [CheckpointWriteSummary] {
        try waitForPrevious()
        return lock.withLock {
            defer { completed.removeAll() }
            return completed
        }
    }

    private func submitLocked(step: Int, tensors: [CheckpointTensor], metadataValue: JSONValue) throws {
        try waitForPrevious()
        inFlight.enter()
        queue.async { [directory, options] in
            defer { self.inFlight.leave() }
            do {
                let summary = try directory.save(tensors, step: step, metadataValue: metadataValue, options: options)
                self.lock.withLock { self.completed.append(summary) }
            } catch {
                self.lock.withLock { self.pendingError = error }
            }
        }
    }

    /// Whether a save is still running.
    public var isBusy: Bool { inFlight.wait(timeout: .now()) == .timedOut }

    private func waitForPrevious() throws {
        inFlight.wait()
        let error = lock.withLock { () -> Error? in
            defer { pendingError = nil }
            return pendingError
        }
        if let error { throw error }
    }
}
