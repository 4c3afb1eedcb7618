/// A clip that cannot be decoded or processed; the message names the source (file path or shard/key) and the problem.
public struct AudioError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
