/// Errors raised by the data pipeline; each description is one line naming the file and the problem.
public enum DataPipelineError: Error, CustomStringConvertible, Equatable {
    case fileNotFound(path: String)
    case cannotRead(path: String, reason: String)
    case cannotWrite(path: String, reason: String)
    case corruptImage(name: String, reason: String)
    case unsupportedImageFormat(name: String, format: String)
    /// A recording that cannot be decoded or is too short for one frame; the message names the sample.
    case corruptAudio(String)
    /// A recording whose sample rate cannot be resampled to the target rate; the message names the file.
    case unresamplableAudio(String)
    case malformedTar(path: String, reason: String)
    case malformedCSV(path: String, line: Int, reason: String)
    case malformedSample(name: String, reason: String)
    /// One sample lacks a field the consumer needs; `sample` names the shard and key (or CSV file and line).
    case missingField(sample: String, field: String, detail: String)
    /// A sample lacking a field the consumer needs, where incomplete samples are refused rather than skipped.
    case incompleteSample(sample: String, field: String, detail: String)
    /// A field the consumer needs is absent from a whole shard, CSV file or source: a wrong key or the wrong data.
    case fieldNotInDataset(source: String, field: String, detail: String)
    case invalidOption(String)
    case tooManyFailures(position: Int, attempts: Int, lastError: String)

    public var description: String {
        switch self {
        case .fileNotFound(let path): return "\(path): file not found"
        case .cannotRead(let path, let reason): return "\(path): cannot read: \(reason)"
        case .cannotWrite(let path, let reason): return "\(path): cannot write: \(reason)"
        case .corruptImage(let name, let reason): return "\(name): corrupt or undecodable image: \(reason)"
        case .unsupportedImageFormat(let name, let format): return "\(name): unsupported image format \(format)"
        case .corruptAudio(let message): return message
        case .unresamplableAudio(let message): return message
        case .malformedTar(let path, let reason): return "\(path): malformed tar archive: \(reason)"
        case .malformedCSV(let path, let line, let reason): return "\(path):\(line): malformed CSV: \(reason)"
        case .malformedSample(let name, let reason): return "\(name): malformed sample: \(reason)"
        case .missingField(let sample, let field, let detail): return "\(sample): no field '\(field)' (\(detail))"
        case .incompleteSample(let sample, let field, let detail):
            return "\(sample): no field '\(field)' (\(detail)); --skip-incomplete skips such samples"
        case .fieldNotInDataset(let source, let field, let detail): return "\(source): no sample has field '\(field)' (\(detail))"
        case .invalidOption(let message): return "invalid data option: \(message)"
        case .tooManyFailures(let position, let attempts, let lastError):
            return "sample position \(position): \(attempts) consecutive undecodable substitutes, last: \(lastError)"
        }
    }

    /// Errors that no substitute sample can cure: the loader stops with them instead of replacing the sample.
    public var stopsTheRun: Bool {
        switch self {
        case .invalidOption, .fieldNotInDataset, .incompleteSample, .unresamplableAudio: return true
        default: return false
        }
    }
}
