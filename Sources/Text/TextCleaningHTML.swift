/// The two HTML unescapers of OpenCLIP's cleaning: ftfy's strict one and Python's `html.unescape`.
enum HTMLUnescaping {
    private static let ampersand: Unicode.Scalar = "&"
    private static let semicolon: Unicode.Scalar = ";"
    private static let hash: Unicode.Scalar = "#"

    /// ftfy's `unescape_html`: only `&name;`, `&#N;`, `&#xH;` with 1-24 ASCII letters/digits and a closing `;`.
    static func ftfyUnescape(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains(ampersand) else { return text }
        var output: [Unicode.Scalar] = []
        output.reserveCapacity(text.count)
        var index = 0
        while index < text.count {
            guard text[index] == ampersand, let end = ftfyReferenceEnd(text, ampersandAt: index) else {
                output.append(text[index])
                index += 1
                continue
            }
            let reference = Array(text[index...end])
            output.append(contentsOf: ftfyReplacement(reference))
            index = end + 1
        }
        return output
    }

    /// Index of the `;` closing an ftfy-style reference starting at `start`, if the regex `&#?[0-9A-Za-z]{1,24};` matches there.
    private static func ftfyReferenceEnd(_ text: [Unicode.Scalar], ampersandAt start: Int) -> Int? {
        var cursor = start + 1
        if cursor < text.count, text[cursor] == hash { cursor += 1 }
        let runStart = cursor
        while cursor < text.count, cursor - runStart <= 24, isASCIIAlphanumeric(text[cursor]) { cursor += 1 }
        let runLength = cursor - runStart
        guard runLength >= 1, runLength <= 24, cursor < text.count, text[cursor] == semicolon else { return nil }
        return cursor
    }

    private static func ftfyReplacement(_ reference: [Unicode.Scalar]) -> [Unicode.Scalar] {
        let name = String(String.UnicodeScalarView(reference.dropFirst()))
        if let value = TextCleaningLookup.html5Entities[name] ?? TextCleaningLookup.ftfyUppercaseEntities[name] {
            return value
        }
        if reference.count > 1, reference[1] == hash {
            let decoded = pythonUnescape(reference)
            return decoded.contains(semicolon) ? reference : decoded
        }
        return reference
    }

    /// Python's `html.unescape`: HTML5 numeric and named references, including legacy names without `;`
    /// (longest known prefix wins, as the HTML5 tokeniser specifies).
    static func pythonUnescape(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains(ampersand) else { return text }
        var output: [Unicode.Scalar] = []
        output.reserveCapacity(text.count)
        var index = 0
        while index < text.count {
            if text[index] != ampersand {
                output.append(text[index])
                index += 1
                continue
            }
            if let (replacement, end) = numericReference(text, ampersandAt: index) ?? namedReference(text, ampersandAt: index) {
                output.append(contentsOf: replacement)
                index = end
            } else {
                output.append(ampersand)
                index += 1
            }
        }
        return output
    }

    /// Matches `&#[0-9]+;?` or `&#[xX][0-9a-fA-F]+;?`; returns the replacement and the index after the match.
    private static func numericReference(_ text: [Unicode.Scalar], ampersandAt start: Int) -> ([Unicode.Scalar], Int)? {
        var cursor = start + 1
        guard cursor < text.count, text[cursor] == hash else { return nil }
        cursor += 1
        var radix: UInt32 = 10
        if cursor < text.count, text[cursor] == "x" || text[cursor] == "X",
           cursor + 1 < text.count, hexValue(text[cursor + 1]) != nil {
            radix = 16
            cursor += 1
        }
        // Python's int() is unbounded; anything past 0x10FFFF behaves the same, so saturate there.
        let tooLarge: UInt32 = 0x110000
        var number: UInt32 = 0
        let digitsStart = cursor
        while cursor < text.count, let digit = digitValue(text[cursor], radix: radix) {
            number = number >= tooLarge ? tooLarge : min(number * radix + digit, tooLarge)
            cursor += 1
        }
        guard cursor > digitsStart else { return nil }
        if cursor < text.count, text[cursor] == semicolon { cursor += 1 }
        return (numericReplacement(number), cursor)
    }

    private static func numericReplacement(_ number: UInt32) -> [Unicode.Scalar] {
        if let fixed = TextCleaningLookup.invalidCharacterReferences[number] { return fixed }
        if (0xD800...0xDFFF).contains(number) || number > 0x10FFFF { return ["\u{FFFD}"] }
        if TextCleaningLookup.removedCodePoints.contains(number) { return [] }
        return [Unicode.Scalar(number)!]
    }

    /// Matches `&[^\t\n\f <&#;]{1,32};?` and resolves it like `html.unescape`; nil when no name characters follow.
    private static func namedReference(_ text: [Unicode.Scalar], ampersandAt start: Int) -> ([Unicode.Scalar], Int)? {
        var cursor = start + 1
        while cursor < text.count, cursor - start <= 32, isNameCharacter(text[cursor]) { cursor += 1 }
        guard cursor > start + 1 else { return nil }
        if cursor < text.count, text[cursor] == semicolon { cursor += 1 }
        let name = Array(text[(start + 1)..<cursor])
        if let value = TextCleaningLookup.html5Entities[String(String.UnicodeScalarView(name))] {
            return (value, cursor)
        }
        // Longest prefix of at least two characters that is a (legacy, semicolon-free) entity name.
        var prefixLength = min(name.count - 1, TextCleaningLookup.longestEntityName)
        while prefixLength >= 2 {
            if let value = TextCleaningLookup.html5Entities[String(String.UnicodeScalarView(name[0..<prefixLength]))] {
                return (value + name[prefixLength...], cursor)
            }
            prefixLength -= 1
        }
        return ([ampersand] + name, cursor)
    }

    private static func isNameCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "\t", "\n", "\u{0C}", " ", "<", "&", "#", ";": return false
        default: return true
        }
    }

    private static func isASCIIAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        default: return false
        }
    }

    private static func hexValue(_ scalar: Unicode.Scalar) -> UInt32? { digitValue(scalar, radix: 16) }

    private static func digitValue(_ scalar: Unicode.Scalar, radix: UInt32) -> UInt32? {
        let value = scalar.value
        switch value {
        case 0x30...0x39: return value - 0x30
        case 0x41...0x46 where radix == 16: return value - 0x41 + 10
        case 0x61...0x66 where radix == 16: return value - 0x61 + 10
        default: return nil
        }
    }
}
