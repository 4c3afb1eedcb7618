import Foundation

/// CLDR's English annotations (`common/annotations/en.xml`, and `annotationsDerived/en.xml` for skin tones and
/// other sequences): emoji -> keywords, from lines `<annotation cp="😀">face | grin | grinning face</annotation>`.
/// Keys are the emoji without U+FE0F, as CLDR writes them.
public enum CLDRAnnotations {
    public static func parse(_ text: String) -> [String: [String]] {
        var keywords: [String: [String]] = [:]
        for line in text.split(separator: "\n") {
            guard let open = line.range(of: "<annotation cp=\""), !line.contains("type=\"tts\"") else { continue }
            let rest = line[open.upperBound...]
            guard let quote = rest.firstIndex(of: "\""), let start = rest.firstIndex(of: ">"),
                  let close = rest.range(of: "</annotation>"), start < close.lowerBound else { continue }
            let emoji = unescape(String(rest[..<quote]))
            let words = rest[rest.index(after: start)..<close.lowerBound].split(separator: "|")
                .map { unescape($0.trimmingCharacters(in: .whitespaces)) }.filter { !$0.isEmpty }
            keywords[bareKey(emoji)] = words
        }
        return keywords
    }

    /// The lookup key of an emoji: its string without emoji variation selectors.
    public static func bareKey(_ emoji: String) -> String {
        String(String.UnicodeScalarView(emoji.unicodeScalars.filter { $0.value != 0xFE0F }))
    }

    static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        return text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}
