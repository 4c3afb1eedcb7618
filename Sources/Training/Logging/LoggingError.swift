/// A log or event file that cannot be created, written or parsed; one line naming the file and the problem.
public struct LoggingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
