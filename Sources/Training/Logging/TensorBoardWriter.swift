import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes TensorBoard scalar summaries to an `events.out.tfevents.<unix time>.<hostname>` file, with no protobuf library.
///
/// The file is a sequence of TFRecords, the first holding `file_version: "brain.Event:2"`, each further one a
/// scalar `Event`. With `flushEveryWrite` (the default) each scalar reaches the file at once, so TensorBoard shows
/// a running job live and a crash loses nothing; otherwise records collect in memory until `flush()` (or `close()`).
/// Safe to call from several threads.
public final class TensorBoardWriter: @unchecked Sendable {
    /// The event file's full path.
    public let path: String
    public let flushEveryWrite: Bool
    private let file: AppendOnlyFile
    private var pending: [UInt8] = []
    private var closed = false
    private let lock = NSLock()
    private let clock: () -> Double

    /// Creates `directory` if needed and starts a new event file in it.
    /// - Parameter clock: seconds since 1970 for `wall_time` (tests pass a fixed clock).
    public init(directory: String, flushEveryWrite: Bool = true,
                clock: @escaping () -> Double = { Date().timeIntervalSince1970 }) throws {
        try createDirectory(directory)
        self.flushEveryWrite = flushEveryWrite
        self.clock = clock
        let now = clock()
        let base = "\(directory)/events.out.tfevents.\(Int64(now)).\(Self.hostname())"
        (file, path) = try Self.createUnique(base)
        try file.write(TFRecord.frame(TensorBoardEvent.fileVersion(wallTime: now)))
    }

    /// Logs `value` under `tag` (e.g. `train/loss`) at global step `step`; TensorBoard stores it as a 32-bit float.
    public func scalar(tag: String, value: Double, step: Int) throws {
        let record = TFRecord.frame(TensorBoardEvent.scalar(tag: tag, value: Float(value), step: Int64(step), wallTime: clock()))
        lock.lock()
        defer { lock.unlock() }
        if closed { throw LoggingError("\(path): scalar \(tag) written after the event file was closed") }
        pending.append(contentsOf: record)
        if flushEveryWrite { try flushLocked() }
    }

    /// Logs several scalars at one step, each as its own event (tags in sorted order).
    public func scalars(_ values: [String: Double], step: Int) throws {
        for tag in values.keys.sorted() { try scalar(tag: tag, value: values[tag]!, step: step) }
    }

    /// Writes buffered records to the file.
    public func flush() throws {
        lock.lock()
        defer { lock.unlock() }
        try flushLocked()
    }

    private func flushLocked() throws {
        if pending.isEmpty { return }
        let bytes = pending
        pending.removeAll(keepingCapacity: true)
        try file.write(bytes)
    }

    /// Flushes and closes the file; later writes fail.
    public func close() throws {
        lock.lock()
        defer { lock.unlock() }
        if closed { return }
        closed = true
        try flushLocked()
        file.close()
    }

    deinit {
        try? flushLocked()
    }

    /// Opens `base`, or `base.1`, `base.2`, … when two writers start in the same second on one host.
    private static func createUnique(_ base: String) throws -> (AppendOnlyFile, String) {
        var candidate = base
        for suffix in 1...1000 {
            do {
                return (try AppendOnlyFile(path: candidate, exclusive: true), candidate)
            } catch where FileManager.default.fileExists(atPath: candidate) {
                candidate = "\(base).\(suffix)"
            }
        }
        throw LoggingError("\(base): cannot create a new event file (1000 files of that name exist)")
    }

    static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(cString: buffer)
        // A slash would turn the host name into a path.
        return name.isEmpty ? "localhost" : name.replacingOccurrences(of: "/", with: "_")
    }
}
