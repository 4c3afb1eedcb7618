import Foundation

/// Writes a file so readers see either the old content or the complete new one, never a partial file.
///
/// The content goes to a uniquely named temporary file in the same folder, is fsynced, renamed over the
/// final name and the folder is fsynced, so the rename itself survives a power loss.
enum AtomicFile {
    /// Suffix marking temporary files: `<final name>.tmp-<16 hex digits>`.
    static let temporaryMarker = ".tmp-"

    static func write<Result>(to url: URL, _ body: (PosixFile) throws -> Result) throws -> Result {
        let finalPath = url.path
        let temporaryPath = finalPath + temporaryMarker + hex(UInt64.random(in: 0...UInt64.max))
        InFlightTemporaryFiles.shared.insert(temporaryPath)
        defer { InFlightTemporaryFiles.shared.remove(temporaryPath) }
        do {
            let file = try PosixFile.createExclusive(temporaryPath)
            let result = try body(file)
            try file.sync()
            try file.close()
            try PosixFile.rename(temporaryPath, to: finalPath)
            try PosixFile.syncDirectory(url.deletingLastPathComponent().path)
            return result
        } catch {
            try? PosixFile.remove(temporaryPath)
            throw error
        }
    }

    /// Whether a file name has the shape of a temporary file left by `write`.
    static func isTemporaryName(_ name: String) -> Bool {
        guard let marker = name.range(of: temporaryMarker, options: .backwards) else { return false }
        let suffix = name[marker.upperBound...]
        return suffix.count == 16 && suffix.allSatisfy(\.isHexDigit) && marker.lowerBound > name.startIndex
    }
}

/// Temporary files this process is writing right now, so cleanup never deletes a save in progress.
final class InFlightTemporaryFiles: @unchecked Sendable {
    static let shared = InFlightTemporaryFiles()

    private let lock = NSLock()
    private var paths = Set<String>()

    func insert(_ path: String) { lock.withLock { _ = paths.insert(path) } }
    func remove(_ path: String) { lock.withLock { _ = paths.remove(path) } }
    func contains(_ path: String) -> Bool { lock.withLock { paths.contains(path) } }
}
