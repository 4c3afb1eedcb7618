/// Errors of the emoji data set builder; each description is one line naming the file and the problem.
public enum EmojiDataError: Error, CustomStringConvertible, Equatable {
    /// A source file is absent; `package` is the Debian package that installs it.
    case missingSource(path: String, package: String)
    case malformedFont(path: String, reason: String)
    case malformedList(path: String, line: Int, reason: String)
    case invalidOption(String)

    public var description: String {
        switch self {
        case .missingSource(let path, let package):
            return "\(path): file not found; install the Debian package \(package) (apt-get install \(package)) or pass the file's path"
        case .malformedFont(let path, let reason): return "\(path): malformed font: \(reason)"
        case .malformedList(let path, let line, let reason): return "\(path):\(line): \(reason)"
        case .invalidOption(let message): return "emoji data: \(message)"
        }
    }
}
