import Foundation

/// One fully-qualified emoji of Unicode's `emoji-test.txt`.
public struct EmojiEntry: Sendable, Equatable {
    public var codePoints: [UInt32]
    /// CLDR short name as the file gives it, e.g. "grinning face with big eyes", "flag: Japan".
    public var name: String
    public var group: String
    public var subgroup: String
    /// The Emoji version that introduced it, e.g. "E1.0".
    public var version: String

    /// The emoji as a string.
    public var string: String { String(String.UnicodeScalarView(codePoints.compactMap(Unicode.Scalar.init))) }
    /// Lower-case hexadecimal code points joined by "-", e.g. "1f469-200d-1f4bb": unique, and safe in file names.
    public var key: String { codePoints.map { String($0, radix: 16) }.joined(separator: "-") }
}

/// Parser of Unicode's `emoji-test.txt`: `# group:` and `# subgroup:` headers, then lines
/// `1F600 ; fully-qualified # 😀 E1.0 grinning face`. Only fully-qualified emoji are kept (the other statuses are
/// the same emoji with variation selectors left out).
public enum EmojiTestList {
    public static func parse(_ text: String, path: String) throws -> [EmojiEntry] {
        var group: String?, subgroup: String?
        var entries: [EmojiEntry] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            func fail(_ reason: String) -> EmojiDataError { .malformedList(path: path, line: index + 1, reason: reason) }
            if line.hasPrefix("# group:") {
                group = String(line.dropFirst("# group:".count)).trimmingCharacters(in: .whitespaces)
                subgroup = nil
                continue
            }
            if line.hasPrefix("# subgroup:") {
                subgroup = String(line.dropFirst("# subgroup:".count)).trimmingCharacters(in: .whitespaces)
                continue
            }
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let semicolon = line.firstIndex(of: ";"), let hash = line.firstIndex(of: "#"), semicolon < hash else {
                throw fail("expected 'code points ; status # emoji version name'")
            }
            let status = line[line.index(after: semicolon)..<hash].trimmingCharacters(in: .whitespaces)
            guard status == "fully-qualified" else { continue }
            var codePoints: [UInt32] = []
            for field in line[..<semicolon].split(separator: " ") {
                guard let value = UInt32(field, radix: 16), Unicode.Scalar(value) != nil else { throw fail("bad code point '\(field)'") }
                codePoints.append(value)
            }
            guard !codePoints.isEmpty else { throw fail("no code points") }
            guard let group, let subgroup else { throw fail("emoji before any '# group:' and '# subgroup:' line") }
            // After '#': the emoji itself, its version "E<major>.<minor>", then the name.
            let comment = line[line.index(after: hash)...].split(separator: " ", maxSplits: 2)
            guard comment.count == 3, comment[1].hasPrefix("E") else { throw fail("expected '# emoji E<version> name' after the status") }
            entries.append(EmojiEntry(codePoints: codePoints, name: String(comment[2]), group: group, subgroup: subgroup,
                                      version: String(comment[1])))
        }
        guard !entries.isEmpty else { throw EmojiDataError.malformedList(path: path, line: 1, reason: "no fully-qualified emoji") }
        return entries
    }
}
