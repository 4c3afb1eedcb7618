/// A malformed or unsupported model config; one line naming the file and the key.
public struct ConfigError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
