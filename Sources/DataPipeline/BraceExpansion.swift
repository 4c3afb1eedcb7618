/// Shard-list expansion as in WebDataset/braceexpand: `{a,b}` alternatives, `{000..123}` zero-padded ranges,
/// nesting, and several lists joined by `::`.
public enum BraceExpansion {
    /// Expands every `::`-separated source, keeping their order.
    public static func expandSources(_ spec: String) throws -> [String] {
        try spec.components(separatedBy: "::").filter { !$0.isEmpty }.flatMap { try expand($0) }
    }

    /// Expands one pattern. A numeric range pads to the width of its wider bound when either bound has a leading zero.
    public static func expand(_ pattern: String) throws -> [String] {
        let chars = Array(pattern)
        guard let open = chars.firstIndex(of: "{") else {
            if chars.contains("}") { throw DataPipelineError.invalidOption("unbalanced '}' in \(pattern)") }
            return [pattern]
        }
        var depth = 0
        var close: Int? = nil
        var commas: [Int] = []
        for i in open..<chars.count {
            if chars[i] == "{" { depth += 1 }
            else if chars[i] == "}" { depth -= 1; if depth == 0 { close = i; break } }
            else if chars[i] == ",", depth == 1 { commas.append(i) }
        }
        guard let close else { throw DataPipelineError.invalidOption("unbalanced '{' in \(pattern)") }
        let prefix = String(chars[..<open])
        let suffixes = try expand(String(chars[(close + 1)...]))
        let body = String(chars[(open + 1)..<close])
        var alternatives: [String] = []
        if commas.isEmpty {
            if let range = try numericRange(body, pattern: pattern) {
                alternatives = range
            } else {
                // Not a list or range: keep the braces literally, as the shell does.
                alternatives = ["{" + body + "}"]
            }
        } else {
            var start = open + 1
            for comma in commas + [close] {
                alternatives.append(contentsOf: try expand(String(chars[start..<comma])))
                start = comma + 1
            }
        }
        var result: [String] = []
        for a in alternatives { for s in suffixes { result.append(prefix + a + s) } }
        return result
    }

    private static func numericRange(_ body: String, pattern: String) throws -> [String]? {
        let parts = body.components(separatedBy: "..")
        guard parts.count == 2, let lo = Int(parts[0]), let hi = Int(parts[1]),
              parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else { return nil }
        let padded = parts.contains { $0.count > 1 && $0.hasPrefix("0") }
        let width = padded ? max(parts[0].count, parts[1].count) : 0
        let step = lo <= hi ? 1 : -1
        guard abs(hi - lo) < 10_000_000 else { throw DataPipelineError.invalidOption("range too large in \(pattern)") }
        return Swift.stride(from: lo, through: hi, by: step).map { n in
            let digits = String(n)
            return digits.count < width ? String(repeating: "0", count: width - digits.count) + digits : digits
        }
    }
}
