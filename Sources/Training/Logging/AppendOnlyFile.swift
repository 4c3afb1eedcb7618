import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file opened for appending whose writes go straight to the kernel, so a crash loses nothing already written.
final class AppendOnlyFile {
    let path: String
    private var descriptor: Int32

    /// Opens (creating if needed) `path` for appending; `exclusive` refuses an existing file.
    init(path: String, exclusive: Bool = false) throws {
        self.path = path
        let flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : 0)
        descriptor = open(path, flags, 0o644)
        if descriptor < 0 {
            throw LoggingError("\(path): cannot open for writing (\(String(cString: strerror(errno))))")
        }
    }

    /// Writes every byte, retrying short writes and interrupted calls.
    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw LoggingError("\(path): write failed (\(String(cString: strerror(errno))))")
                }
                offset += written
            }
        }
    }

    func close() {
        if descriptor >= 0 { _ = Glibc.close(descriptor) }
        descriptor = -1
    }

    deinit { close() }
}

/// Creates `directory` and its parents; one-line error when that is impossible.
func createDirectory(_ directory: String) throws {
    do {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    } catch {
        throw LoggingError("\(directory): cannot create directory (\(error.localizedDescription))")
    }
}
