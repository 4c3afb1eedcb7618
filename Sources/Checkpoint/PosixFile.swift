#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

// File-scope names for C calls that `PosixFile` members would otherwise shadow.
private func closeDescriptor(_ descriptor: Int32) -> Int32 { close(descriptor) }
private func renameFile(_ source: String, _ destination: String) -> Int32 { rename(source, destination) }

/// A file descriptor with the few POSIX operations durable checkpoint writing needs, each failing with a
/// `CheckpointError` that names the file.
final class PosixFile {
    let descriptor: Int32
    let path: String
    private var isClosed = false

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit {
        if !isClosed { _ = closeDescriptor(descriptor) }
    }

    /// Creates a new file; fails if it already exists so two writers never share a temporary file.
    static func createExclusive(_ path: String) throws -> PosixFile {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PosixFile.error(path, "create") }
        return PosixFile(descriptor: fd, path: path)
    }

    static func openForReading(_ path: String) throws -> PosixFile {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw CheckpointError.fileNotFound(path: path) }
            throw PosixFile.error(path, "open")
        }
        return PosixFile(descriptor: fd, path: path)
    }

    /// Writes all of `bytes` at `offset`, retrying short writes and interrupted calls.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        guard var cursor = bytes.baseAddress, bytes.count > 0 else { return }
        var remaining = bytes.count
        var position = off_t(offset)
        while remaining > 0 {
            // Linux transfers at most ~2 GiB per call; larger tensors simply take several.
            let written = pwrite(descriptor, cursor, min(remaining, 1 << 30), position)
            if written < 0 {
                if errno == EINTR { continue }
                throw PosixFile.error(path, "write")
            }
            if written == 0 { throw CheckpointError.io(path: path, operation: "write", reason: "device accepted no bytes") }
            cursor += written
            remaining -= written
            position += off_t(written)
        }
    }

    /// Reads up to `count` bytes at `offset` into `destination`; returns how many were read (fewer only at end of file).
    func read(into destination: UnsafeMutableRawPointer, count: Int, at offset: Int) throws -> Int {
        var total = 0
        while total < count {
            let got = pread(descriptor, destination + total, min(count - total, 1 << 30), off_t(offset + total))
            if got < 0 {
                if errno == EINTR { continue }
                throw PosixFile.error(path, "read")
            }
            if got == 0 { break }
            total += got
        }
        return total
    }

    func size() throws -> Int {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw PosixFile.error(path, "stat") }
        return Int(info.st_size)
    }

    func truncate(to length: Int) throws {
        guard ftruncate(descriptor, off_t(length)) == 0 else { throw PosixFile.error(path, "truncate") }
    }

    /// Flushes data and metadata to stable storage.
    func sync() throws {
        while fsync(descriptor) != 0 {
            if errno == EINTR { continue }
            throw PosixFile.error(path, "fsync")
        }
    }

    func close() throws {
        guard !isClosed else { return }
        isClosed = true
        guard closeDescriptor(descriptor) == 0 else { throw PosixFile.error(path, "close") }
    }

    /// Makes a rename or unlink inside `directory` durable.
    static func syncDirectory(_ directory: String) throws {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw PosixFile.error(directory, "open directory") }
        defer { _ = closeDescriptor(fd) }
        while fsync(fd) != 0 {
            if errno == EINTR { continue }
            // Some filesystems (e.g. certain network mounts) cannot fsync directories; the rename is still atomic.
            if errno == EINVAL || errno == ENOTSUP { return }
            throw PosixFile.error(directory, "fsync directory")
        }
    }

    /// Atomically replaces `destination` with `source` (same filesystem).
    static func rename(_ source: String, to destination: String) throws {
        guard renameFile(source, destination) == 0 else {
            throw CheckpointError.io(path: destination, operation: "rename from \(source)", reason: String(cString: strerror(errno)))
        }
    }

    /// Removes a file; a file that is already gone is not an error.
    static func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else { throw PosixFile.error(path, "remove") }
    }

    private static func error(_ path: String, _ operation: String) -> CheckpointError {
        CheckpointError.io(path: path, operation: operation, reason: String(cString: strerror(errno)))
    }
}
