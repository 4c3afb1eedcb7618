/// A request the service refuses: the HTTP status and the one-line message of its `{"error": "..."}` body.
public struct ServingError: Error, CustomStringConvertible, Equatable {
    public let status: Int
    public let message: String

    public init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { "\(status): \(message)" }

    static func badRequest(_ message: String) -> ServingError { ServingError(400, message) }
    static func notFound(_ message: String) -> ServingError { ServingError(404, message) }
}
