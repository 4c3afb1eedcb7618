import Foundation

/// The part of `ftfy.fix_text` (ftfy 6.3, default configuration) that OpenCLIP's cleaning depends on.
///
/// Text is fixed line by line (each segment ends after a `\n`); each segment is fixed repeatedly until stable.
/// HTML unescaping is switched off from the first segment containing `<` onward, as ftfy's `"auto"` mode does.
enum FTFYTextFixer {
    static func fixText(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var output: [Unicode.Scalar] = []
        output.reserveCapacity(text.count)
        var unescapeHTML = true
        var segmentStart = 0
        while segmentStart < text.count {
            var segmentEnd = segmentStart
            while segmentEnd < text.count, text[segmentEnd] != "\n" { segmentEnd += 1 }
            segmentEnd = min(segmentEnd + 1, text.count)
            let segment = Array(text[segmentStart..<segmentEnd])
            if unescapeHTML, segment.contains("<") { unescapeHTML = false }
            output.append(contentsOf: fixSegment(segment, unescapeHTML: unescapeHTML))
            segmentStart = segmentEnd
        }
        return output
    }

    /// ftfy's `fix_and_explain`: every fixer in ftfy's order, repeated until the text stops changing.
    static func fixSegment(_ segment: [Unicode.Scalar], unescapeHTML: Bool) -> [Unicode.Scalar] {
        var text = segment
        while true {
            let previous = text
            if unescapeHTML { text = HTMLUnescaping.ftfyUnescape(text) }
            text = MojibakeRepair.repair(text)
            text = fixC1Controls(text)
            text = fixLatinLigatures(text)
            text = fixCharacterWidth(text)
            text = uncurlQuotes(text)
            text = fixLineBreaks(text)
            text = removeTerminalEscapes(text)
            text = removeControlCharacters(text)
            text = normalizeNFC(text)
            if text == previous { return text }
        }
    }

    /// C1 controls U+0080-U+009F are read as the Windows-1252 characters of the same byte.
    static func fixC1Controls(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains(where: { (0x80...0x9F).contains($0.value) }) else { return text }
        return text.map { (0x80...0x9F).contains($0.value) ? TextCleaningLookup.windows1252C1[Int($0.value) - 0x80] : $0 }
    }

    private static let ligatures: [UInt32: String] = [
        0x132: "IJ", 0x133: "ij", 0x149: "\u{2BC}n",
        0x1F1: "DZ", 0x1F2: "Dz", 0x1F3: "dz", 0x1C4: "D\u{17D}", 0x1C5: "D\u{17E}", 0x1C6: "d\u{17E}",
        0x1C7: "LJ", 0x1C8: "Lj", 0x1C9: "lj", 0x1CA: "NJ", 0x1CB: "Nj", 0x1CC: "nj",
        0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl", 0xFB03: "ffi", 0xFB04: "ffl", 0xFB05: "\u{17F}t", 0xFB06: "st",
    ]

    static func fixLatinLigatures(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        replacing(text) { ligatures[$0.value].map { Array($0.unicodeScalars) } }
    }

    /// Full-width ASCII to ASCII, half-width katakana to full-width, U+3000 to a space.
    static func fixCharacterWidth(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        replacing(text) { scalar in
            scalar.value == 0x3000 || (0xFF01...0xFFEF).contains(scalar.value)
                ? TextCleaningLookup.fullWidthForms[scalar.value] : nil
        }
    }

    static func uncurlQuotes(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        replacing(text) { scalar in
            switch scalar.value {
            case 0x2018...0x201B: return ["'"]
            case 0x201C...0x201F: return ["\""]
            default: return nil
            }
        }
    }

    /// CRLF, CR, U+2028, U+2029 and U+0085 become `\n`.
    static func fixLineBreaks(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains(where: { $0 == "\r" || $0 == "\u{2028}" || $0 == "\u{2029}" || $0 == "\u{85}" }) else {
            return text
        }
        var output: [Unicode.Scalar] = []
        output.reserveCapacity(text.count)
        var index = 0
        while index < text.count {
            switch text[index] {
            case "\r":
                output.append("\n")
                if index + 1 < text.count, text[index + 1] == "\n" { index += 1 }
            case "\u{2028}", "\u{2029}", "\u{85}":
                output.append("\n")
            default:
                output.append(text[index])
            }
            index += 1
        }
        return output
    }

    /// Removes ANSI escapes `ESC [ (digits|;)* letter`.
    static func removeTerminalEscapes(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains("\u{1B}") else { return text }
        var output: [Unicode.Scalar] = []
        output.reserveCapacity(text.count)
        var index = 0
        while index < text.count {
            if text[index] == "\u{1B}", index + 1 < text.count, text[index + 1] == "[" {
                var cursor = index + 2
                // Python's `\d` matches any decimal digit, not only ASCII ones.
                while cursor < text.count,
                      text[cursor] == ";" || text[cursor].properties.generalCategory == .decimalNumber { cursor += 1 }
                if cursor < text.count, text[cursor].isASCII, text[cursor].properties.isAlphabetic {
                    index = cursor + 1
                    continue
                }
            }
            output.append(text[index])
            index += 1
        }
        return output
    }

    /// Deletes U+0000-U+0008, U+000B, U+000E-U+001F, U+007F, U+206A-U+206F, U+FEFF and U+FFF9-U+FFFC.
    static func removeControlCharacters(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        let isControl: (Unicode.Scalar) -> Bool = { scalar in
            switch scalar.value {
            case 0x00...0x08, 0x0B, 0x0E...0x1F, 0x7F, 0x206A...0x206F, 0xFEFF, 0xFFF9...0xFFFC: return true
            default: return false
            }
        }
        guard text.contains(where: isControl) else { return text }
        return text.filter { !isControl($0) }
    }

    /// Canonical composition (NFC); ASCII-only text is already normalised.
    static func normalizeNFC(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains(where: { $0.value >= 0x300 }) else { return text }
        let string = String(String.UnicodeScalarView(text))
        return Array(string.precomposedStringWithCanonicalMapping.unicodeScalars)
    }

    /// Applies a per-scalar replacement, copying only when something changes.
    private static func replacing(_ text: [Unicode.Scalar],
                                  _ replacement: (Unicode.Scalar) -> [Unicode.Scalar]?) -> [Unicode.Scalar] {
        guard let first = text.firstIndex(where: { replacement($0) != nil }) else { return text }
        var output = Array(text[..<first])
        output.reserveCapacity(text.count)
        for scalar in text[first...] {
            if let replaced = replacement(scalar) { output.append(contentsOf: replaced) } else { output.append(scalar) }
        }
        return output
    }
}
