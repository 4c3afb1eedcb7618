import Foundation

/// One value of a results record: a number, a string, a flag or a table (rows of numbers).
public enum ResultValue: Equatable, Sendable, ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral,
                         ExpressibleByStringLiteral, ExpressibleByBooleanLiteral {
    case double(Double)
    case int(Int)
    case string(String)
    case bool(Bool)
    case table([[Double]])

    public init(floatLiteral value: Double) { self = .double(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }

    /// The JSON text of this value; non-finite doubles become the strings "nan", "inf", "-inf" so every line stays valid JSON.
    public var json: String {
        switch self {
        case .int(let v): return String(v)
        case .bool(let v): return v ? "true" : "false"
        case .table(let rows):
            // Whole numbers (counts) print as integers.
            let cells = rows.map { row in row.map { $0 == $0.rounded() && abs($0) < 1e15 ? String(Int($0)) : ResultValue.double($0).json } }
            return "[" + cells.map { "[" + $0.joined(separator: ", ") + "]" }.joined(separator: ", ") + "]"
        case .string(let s): return JSONText.quoted(s)
        case .double(let v):
            if v.isNaN { return "\"nan\"" }
            if v.isInfinite { return v > 0 ? "\"inf\"" : "\"-inf\"" }
            // Swift's shortest round-trip form ("0.1", "1e-05", "3.0") is valid JSON number syntax.
            return v.description
        }
    }
}

/// JSON string quoting per RFC 8259.
enum JSONText {
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// One JSON object on one line, keys sorted so lines diff cleanly.
    static func object(_ record: [String: ResultValue]) -> String {
        "{" + record.keys.sorted().map { "\(quoted($0)): \(record[$0]!.json)" }.joined(separator: ", ") + "}"
    }
}

/// Appends one JSON object per line to `results.jsonl`, like OpenCLIP's evaluation log.
///
/// Each line is written with one system call as soon as it is appended, so the file is complete up to the last
/// finished evaluation even if the job dies. Safe to call from several threads.
public final class ResultsLog: @unchecked Sendable {
    public let path: String
    private let file: AppendOnlyFile
    private let lock = NSLock()

    /// Opens `directory/results.jsonl` for appending (creating the directory), so a resumed run adds to the same file.
    public convenience init(directory: String, fileName: String = "results.jsonl") throws {
        try createDirectory(directory)
        try self.init(path: "\(directory)/\(fileName)")
    }

    public init(path: String) throws {
        self.path = path
        file = try AppendOnlyFile(path: path)
    }

    /// Appends `record` as one line.
    public func append(_ record: [String: ResultValue]) throws {
        let line = JSONText.object(record) + "\n"
        lock.lock()
        defer { lock.unlock() }
        try file.write(Array(line.utf8))
    }

    /// Appends metrics (e.g. `RetrievalMetrics.compute`'s) together with fields such as `epoch` and `step`.
    public func append(metrics: [String: Double], extra: [String: ResultValue] = [:]) throws {
        var record = metrics.mapValues { ResultValue.double($0) }
        record.merge(extra) { _, new in new }
        try append(record)
    }
}
