import Foundation

extension CheckpointDirectory {
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

    func pruneLocked(protecting: URL?) throws -> [URL] {
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
}
