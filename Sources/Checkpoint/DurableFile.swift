import Foundation

/// Atomic, durable whole-file writes for other modules' outputs (embedding shards, indexes), with the same guarantee as
/// checkpoints: a reader sees the old file or the complete new one, and the new one survives a power loss.
public enum DurableFile {
    /// Writes `data` to `path` through a temporary file that is fsynced and renamed over it.
    public static func write(_ data: Data, to path: String) throws {
        try AtomicFile.write(to: URL(fileURLWithPath: path)) { file in
            try data.withUnsafeBytes { try file.write($0, at: 0) }
        }
    }

    /// Whether `name` is a temporary file a write interrupted by a crash left behind (safe to delete when no writer runs).
    public static func isTemporaryName(_ name: String) -> Bool { AtomicFile.isTemporaryName(name) }
}

/// XXH3-64 checksums of whole contents, as 16 lowercase hex digits (the form checkpoint headers use).
public enum ContentChecksum {
    public static func hex(of data: Data) -> String {
        data.withUnsafeBytes { hex(of: $0) }
    }

    public static func hex(of buffer: UnsafeRawBufferPointer) -> String { checksumDigits(xxh3(buffer)) }
}

// The header's hex formatter under a name the members above do not shadow.
private func checksumDigits(_ value: UInt64) -> String { hex(value) }
