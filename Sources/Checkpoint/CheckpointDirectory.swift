import Foundation

/// One checkpoint file found in a checkpoint directory.
public struct CheckpointEntry: Equatable, Sendable {
    public let step: Int
    public let url: URL
    /// Whether a `<name>.keep` marker protects it from pruning.
    public let isMarkedKeep: Bool
}

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

/// A folder of checkpoints named `step-00001234.sclip`, with a `latest` pointer file and keep-N retention.
///
/// One process (rank 0) writes a directory; any number may read it. Saving is atomic (see `AtomicFile`),
/// then `latest` is replaced atomically, then old checkpoints are pruned.
public final class CheckpointDirectory: @unchecked Sendable {
    public let url: URL
    /// Newest unmarked checkpoints kept by `prune`; marked ones and the `latest` target are kept in addition.
    public let keepLatest: Int
    public static let latestPointerName = "latest"
    public static let keepMarkerSuffix = ".keep"

    // Serialises save/prune within this process so a background save and a foreground prune never interleave.
    private let writeLock = NSLock()

    /// Opens (and creates if needed) a checkpoint directory.
    public init(url: URL, keepLatest: Int = 3, create: Bool = true) throws {
        guard keepLatest >= 1 else {
            throw CheckpointError.invalidArgument(detail: "\(url.path): keepLatest must be >= 1, got \(keepLatest)")
        }
        self.url = url.standardizedFileURL
        self.keepLatest = keepLatest
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: self.url.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw CheckpointError.io(path: self.url.path, operation: "open checkpoint directory", reason: "not a directory")
            }
        } else if create {
            do {
                try FileManager.default.createDirectory(at: self.url, withIntermediateDirectories: true)
            } catch {
                throw CheckpointError.io(path: self.url.path, operation: "create checkpoint directory", reason: error.localizedDescription)
            }
        } else {
            throw CheckpointError.fileNotFound(path: self.url.path)
        }
    }

    /// File name for a step, zero-padded to eight digits so names sort like steps.
    public static func fileName(forStep step: Int) -> String {
        let digits = String(step)
        return "step-" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits + "." + CheckpointFile.fileExtension
    }

    /// The step encoded in a checkpoint file name, or `nil` for any other name.
    public static func step(fromFileName name: String) -> Int? {
        let prefix = "step-", suffix = "." + CheckpointFile.fileExtension
        guard name.hasPrefix(prefix), name.hasSuffix(suffix), name.count > prefix.count + suffix.count else { return nil }
        let digits = name.dropFirst(prefix.count).dropLast(suffix.count)
        guard digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        return Int(digits)
    }

    public func fileURL(forStep step: Int) -> URL {
        url.appendingPathComponent(CheckpointDirectory.fileName(forStep: step))
    }

    // MARK: Saving

    /// Saves atomically, points `latest` at the new file, then prunes; returns the new file's URL.
    @discardableResult
    public func save<Metadata: Encodable>(_ tensors: [CheckpointTensor], step: Int, metadata: Metadata,
                                          options: CheckpointWriteOptions = .init()) throws -> CheckpointWriteSummary {
        try save(tensors, step: step, metadataValue: JSONValue(encoding: metadata), options: options)
    }

    /// Saves with metadata already in JSON form (see `save(_:step:metadata:options:)`).
    @discardableResult
    public func save(_ tensors: [CheckpointTensor], step: Int, metadataValue: JSONValue,
                     options: CheckpointWriteOptions = .init()) throws -> CheckpointWriteSummary {
        try writeLock.withLock {
            let target = fileURL(forStep: step)
            let summary = try CheckpointFile.write(tensors, step: step, metadataValue: metadataValue, to: target, options: options)
            try writeLatestPointer(to: target.lastPathComponent)
            _ = try pruneLocked(protecting: target)
            return summary
        }
    }

    // MARK: Listing

    /// All checkpoint files, oldest step first. Temporary and unrelated files are ignored.
    public func list() throws -> [CheckpointEntry] {
        let names = try contents()
        let nameSet = Set(names)
        return names.compactMap { name -> CheckpointEntry? in
            guard let step = CheckpointDirectory.step(fromFileName: name) else { return nil }
            return CheckpointEntry(step: step, url: url.appendingPathComponent(name),
                                   isMarkedKeep: nameSet.contains(name + CheckpointDirectory.keepMarkerSuffix))
        }
        .sorted { $0.step < $1.step }
    }

    /// The file `latest` names, or `nil` if there is no pointer. Does not check that the file exists or verifies.
    public func latestPointer() throws -> URL? {
        let pointer = url.appendingPathComponent(CheckpointDirectory.latestPointerName)
        guard FileManager.default.fileExists(atPath: pointer.path) else { return nil }
        let text: String
        do {
            text = try String(contentsOf: pointer, encoding: .utf8)
        } catch {
            throw CheckpointError.io(path: pointer.path, operation: "read", reason: error.localizedDescription)
        }
        let name = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard CheckpointDirectory.step(fromFileName: name) != nil else {
            throw CheckpointError.corrupt(path: pointer.path, detail: "expected a checkpoint file name like step-00001234.sclip, found '\(name.prefix(80))'")
        }
        return url.appendingPathComponent(name)
    }

    // MARK: Resolving

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

    // MARK: Retention

    /// Protects a checkpoint from pruning by creating its `.keep` marker.
    public func markKeep(step: Int) throws {
        let marker = fileURL(forStep: step).path + CheckpointDirectory.keepMarkerSuffix
        guard FileManager.default.createFile(atPath: marker, contents: Data()) else {
            throw CheckpointError.io(path: marker, operation: "create keep marker", reason: "cannot create file")
        }
    }

    public func unmarkKeep(step: Int) throws {
        try PosixFile.remove(fileURL(forStep: step).path + CheckpointDirectory.keepMarkerSuffix)
    }

    /// Deletes checkpoints beyond the newest `keepLatest`, except marked ones, the `latest` target and
    /// `protecting`; also removes stale temporary files. Returns the deleted files.
    @discardableResult
    public func prune(protecting: URL? = nil) throws -> [URL] {
        try writeLock.withLock { try pruneLocked(protecting: protecting) }
    }

    /// Deletes temporary files left by interrupted saves (never one this process is still writing).
    @discardableResult
    public func removeStaleTemporaryFiles() throws -> [URL] {
        var removed: [URL] = []
        for name in try contents() where isOwnTemporaryName(name) {
            let path = url.appendingPathComponent(name).path
            guard !InFlightTemporaryFiles.shared.contains(path) else { continue }
            try PosixFile.remove(path)
            removed.append(url.appendingPathComponent(name))
        }
        return removed
    }

    /// Temporary names of this directory's own files only, so unrelated files are never touched.
    private func isOwnTemporaryName(_ name: String) -> Bool {
        guard AtomicFile.isTemporaryName(name), let marker = name.range(of: AtomicFile.temporaryMarker, options: .backwards) else {
            return false
        }
        let finalName = String(name[..<marker.lowerBound])
        return finalName == CheckpointDirectory.latestPointerName || CheckpointDirectory.step(fromFileName: finalName) != nil
    }

    private func pruneLocked(protecting: URL?) throws -> [URL] {
        _ = try removeStaleTemporaryFiles()
        var protected = Set<String>()
        if let protecting { protected.insert(protecting.lastPathComponent) }
        if let pointed = try? latestPointer() { protected.insert(pointed.lastPathComponent) }
        var deleted: [URL] = []
        var unmarkedSeen = 0
        for entry in try list().reversed() where !entry.isMarkedKeep {
            unmarkedSeen += 1
            guard unmarkedSeen > keepLatest, !protected.contains(entry.url.lastPathComponent) else { continue }
            try PosixFile.remove(entry.url.path)
            deleted.append(entry.url)
        }
        if !deleted.isEmpty { try PosixFile.syncDirectory(url.path) }
        return deleted
    }

    private func writeLatestPointer(to name: String) throws {
        let pointer = url.appendingPathComponent(CheckpointDirectory.latestPointerName)
        try AtomicFile.write(to: pointer) { file in
            try Array((name + "\n").utf8).withUnsafeBytes { try file.write($0, at: 0) }
        }
    }

    private func contents() throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: url.path)
        } catch {
            throw CheckpointError.io(path: url.path, operation: "list checkpoint directory", reason: error.localizedDescription)
        }
    }
}
