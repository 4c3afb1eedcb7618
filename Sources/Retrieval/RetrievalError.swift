/// A one-line error of the retrieval commands; the message names the file (or model) and the problem.
public struct RetrievalError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}
