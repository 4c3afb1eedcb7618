import Foundation

/// A read-only file opened for positioned reads (`pread`), safe to share between threads.
final class RandomAccessFile: @unchecked Sendable {
    let path: String
    let size: Int
    private let descriptor: Int32

    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT { throw DataPipelineError.fileNotFound(path: path) }
            throw DataPipelineError.cannotRead(path: path, reason: String(cString: strerror(code)))
        }
        var info = stat()
        if fstat(fd, &info) != 0 || (info.st_mode & S_IFMT) != S_IFREG {
            close(fd)
            throw DataPipelineError.cannotRead(path: path, reason: "not a regular file")
        }
        descriptor = fd
        size = Int(info.st_size)
    }

    deinit { close(descriptor) }

    /// Reads up to `count` bytes at `offset` into `buffer`; returns how many were read (short only at end of file).
    func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int) throws -> Int {
        var done = 0
        while done < count {
            let n = pread(descriptor, buffer + done, count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw DataPipelineError.cannotRead(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Reads exactly `count` bytes at `offset`, failing if the file is shorter.
    func readBytes(count: Int, at offset: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let n = try bytes.withUnsafeMutableBytes { try read(into: $0.baseAddress!, count: count, at: offset) }
        guard n == count else { throw DataPipelineError.cannotRead(path: path, reason: "unexpected end of file at byte \(offset + n)") }
        return bytes
    }
}

/// Reads a whole file into memory with a one-line error naming it.
func readWholeFile(_ path: String) throws -> [UInt8] {
    let file = try RandomAccessFile(path: path)
    return try file.readBytes(count: file.size, at: 0)
}

/// Writes bytes to a file, replacing it, with a one-line error naming it.
func writeWholeFile(_ path: String, _ bytes: [UInt8]) throws {
    do {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    } catch {
        throw DataPipelineError.cannotWrite(path: path, reason: error.localizedDescription)
    }
}

/// Writes text as UTF-8.
func writeTextFile(_ path: String, _ text: String) throws { try writeWholeFile(path, Array(text.utf8)) }

/// Creates a folder and its parents.
func makeDirectory(_ path: String) throws {
    do {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    } catch {
        throw DataPipelineError.cannotWrite(path: path, reason: error.localizedDescription)
    }
}
