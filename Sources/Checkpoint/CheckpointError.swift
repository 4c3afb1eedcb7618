import Foundation

/// Every way saving or loading a checkpoint can fail, each described in one line naming the file.
public enum CheckpointError: Error, CustomStringConvertible, LocalizedError, Sendable {
    case fileNotFound(path: String)
    case io(path: String, operation: String, reason: String)
    case truncated(path: String, detail: String)
    case badMagic(path: String, found: String)
    case unsupportedVersion(path: String, found: UInt32, supported: UInt32)
    case headerChecksumMismatch(path: String, expected: UInt64, found: UInt64)
    case malformedHeader(path: String, detail: String)
    /// The file's structure disagrees with its (checksummed) header, e.g. bytes appended after the last payload.
    case corrupt(path: String, detail: String)
    /// `stage` is "stored payload" (bytes on disk) or "decoded values" (after decompression and filter).
    case tensorChecksumMismatch(path: String, tensor: String, stage: String, expected: UInt64, found: UInt64)
    case decompressionFailed(path: String, tensor: String, reason: String)
    case compressionFailed(path: String, tensor: String, reason: String)
    case invalidTensor(tensor: String, detail: String)
    case invalidMetadata(detail: String)
    case invalidArgument(detail: String)
    case noValidCheckpoint(directory: String, failures: [String])

    public var description: String {
        switch self {
        case let .fileNotFound(path):
            return "\(path): checkpoint file not found"
        case let .io(path, operation, reason):
            return "\(path): \(operation) failed: \(reason)"
        case let .truncated(path, detail):
            return "\(path): truncated checkpoint: \(detail)"
        case let .badMagic(path, found):
            return "\(path): not a SwiftCLIP checkpoint (magic bytes \(found), expected \(CheckpointFormat.magicDescription))"
        case let .unsupportedVersion(path, found, supported):
            return "\(path): checkpoint format version \(found) is not supported by this build (supports \(supported))"
        case let .headerChecksumMismatch(path, expected, found):
            return "\(path): header checksum mismatch: expected \(hex(expected)), found \(hex(found)) (header is corrupt)"
        case let .malformedHeader(path, detail):
            return "\(path): malformed header: \(detail)"
        case let .corrupt(path, detail):
            return "\(path): corrupt checkpoint: \(detail)"
        case let .tensorChecksumMismatch(path, tensor, stage, expected, found):
            return "\(path): tensor '\(tensor)': \(stage) checksum mismatch: expected \(hex(expected)), found \(hex(found))"
        case let .decompressionFailed(path, tensor, reason):
            return "\(path): tensor '\(tensor)': decompression failed: \(reason)"
        case let .compressionFailed(path, tensor, reason):
            return "\(path): tensor '\(tensor)': compression failed: \(reason)"
        case let .invalidTensor(tensor, detail):
            return "tensor '\(tensor)': \(detail)"
        case let .invalidMetadata(detail):
            return "checkpoint metadata: \(detail)"
        case let .invalidArgument(detail):
            return detail
        case let .noValidCheckpoint(directory, failures):
            return "\(directory): no checkpoint verifies (\(failures.joined(separator: "; ")))"
        }
    }

    public var errorDescription: String? { description }
}

/// Formats a checksum the way the header stores it: 16 lowercase hex digits.
func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
}
