import Foundation

/// One checkpoint file found in a checkpoint directory.
public struct CheckpointEntry: Equatable, Sendable {
    public let step: Int
    public let url: URL
    /// Whether a `<name>.keep` marker protects it from pruning.
    public let isMarkedKeep: Bool
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
    let writeLock = NSLock()

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

    /// Saves atomically, points `latest` at the new file, then prunes; returns what was written.
    ///
    /// An error from pruning is thrown too (the new checkpoint and `latest` are durable by then), so a disk
    /// that keeps filling up is noticed.
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
            throw CheckpointError.corrupt(path: pointer.path, detail: "expected a checkpoint file name like step-00001234.sclip, found '\(name.prefix(80).map { $0.isNewline ? " " : $0 }.map(String.init).joined())'")
        }
        return url.appendingPathComponent(name)
    }

    private func writeLatestPointer(to name: String) throws {
        let pointer = url.appendingPathComponent(CheckpointDirectory.latestPointerName)
        try AtomicFile.write(to: pointer) { file in
            try Array((name + "\n").utf8).withUnsafeBytes { try file.write($0, at: 0) }
        }
    }

    func contents() throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: url.path)
        } catch {
            throw CheckpointError.io(path: url.path, operation: "list checkpoint directory", reason: error.localizedDescription)
        }
    }
}
