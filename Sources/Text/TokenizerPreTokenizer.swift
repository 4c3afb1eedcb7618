/// CLIP's pre-tokeniser: the regex `<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+`
/// (IGNORECASE), scanned left to right on cleaned text, whitespace dropped.
enum CLIPPreTokenizer {
    /// One match of the pattern.
    enum Piece: Equatable {
        /// Scalars `range` of the text, to be byte-pair encoded.
        case text(Range<Int>)
        case startOfText
        case endOfText
    }

    private enum CharacterClass { case space, letter, number, other }

    private static func characterClass(_ scalar: Unicode.Scalar) -> CharacterClass {
        let value = scalar.value
        if value < 0x80 {
            switch value {
            case 0x61...0x7A, 0x41...0x5A: return .letter
            case 0x30...0x39: return .number
            case 0x09...0x0D, 0x1C...0x20: return .space
            default: return .other
            }
        }
        if PythonStringSemantics.isSpace(scalar) { return .space }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    private static let startOfText = Array("<start_of_text>".unicodeScalars)
    private static let endOfText = Array("<end_of_text>".unicodeScalars)

    /// Case-insensitive equality as the regex module's simple case folding sees lower-cased text:
    /// only `ſ` (U+017F) folds onto a letter used in the pattern.
    private static func matchesIgnoringCase(_ scalar: Unicode.Scalar, _ literal: Unicode.Scalar) -> Bool {
        scalar == literal || (literal == "s" && scalar == "\u{17F}")
    }

    private static func hasLiteral(_ literal: [Unicode.Scalar], in text: [Unicode.Scalar], at start: Int) -> Bool {
        guard start + literal.count <= text.count else { return false }
        for offset in 0..<literal.count where !matchesIgnoringCase(text[start + offset], literal[offset]) {
            // Also accept the upper-case letter: the pattern is IGNORECASE even though input is lower-cased.
            let folded = text[start + offset].properties.lowercaseMapping.unicodeScalars
            guard folded.count == 1, matchesIgnoringCase(folded.first!, literal[offset]) else { return false }
        }
        return true
    }

    /// The contractions in the pattern's order of alternatives, without the apostrophe.
    private static let contractions: [[Unicode.Scalar]] = [["s"], ["t"], ["r", "e"], ["v", "e"], ["m"], ["l", "l"], ["d"]]

    /// Length of the contraction (`'s`, `'t`, `'re`, `'ve`, `'m`, `'ll`, `'d`) at `start`, or 0.
    private static func contractionLength(_ text: [Unicode.Scalar], at start: Int) -> Int {
        for suffix in contractions where hasLiteral(suffix, in: text, at: start + 1) { return suffix.count + 1 }
        return 0
    }

    /// Calls `body` with each piece in order until it returns false.
    static func forEachPiece(in text: [Unicode.Scalar], _ body: (Piece) -> Bool) {
        var index = 0
        while index < text.count {
            let scalar = text[index]
            if scalar == "<" {
                if hasLiteral(startOfText, in: text, at: index) {
                    guard body(.startOfText) else { return }
                    index += startOfText.count
                    continue
                }
                if hasLiteral(endOfText, in: text, at: index) {
                    guard body(.endOfText) else { return }
                    index += endOfText.count
                    continue
                }
            }
            if scalar == "'" {
                let length = contractionLength(text, at: index)
                if length > 0 {
                    guard body(.text(index..<(index + length))) else { return }
                    index += length
                    continue
                }
            }
            let kind = characterClass(scalar)
            switch kind {
            case .space:
                index += 1
            case .number:
                guard body(.text(index..<(index + 1))) else { return }
                index += 1
            case .letter, .other:
                var end = index + 1
                while end < text.count, characterClass(text[end]) == kind { end += 1 }
                guard body(.text(index..<end)) else { return }
                index = end
            }
        }
    }
}
