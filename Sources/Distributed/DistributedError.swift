/// Errors raised by collectives: bad arguments, misuse, or a failure reported by MPI.
public enum DistributedError: Error, CustomStringConvertible, Equatable {
    /// A call's arguments do not fit together (sizes, counts, root); the text says which.
    case invalidArgument(String)
    /// A call arrived in a state that does not allow it (e.g. a bucket reported twice).
    case invalidState(String)
    /// MPI returned an error code; carries the operation, the code and MPI's own error string.
    case mpi(operation: String, code: Int32, message: String)

    public var description: String {
        switch self {
        case .invalidArgument(let text): return "distributed: invalid argument: \(text)"
        case .invalidState(let text): return "distributed: invalid state: \(text)"
        case .mpi(let operation, let code, let message): return "distributed: \(operation) failed (MPI error \(code)): \(message)"
        }
    }
}
