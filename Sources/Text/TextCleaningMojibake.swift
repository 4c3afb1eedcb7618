/// A subset of ftfy's `fix_encoding`: undoes UTF-8 that was decoded as Latin-1 or Windows-1252 (`cafÃ©`).
///
/// ftfy decides with a large "badness" heuristic; this repair uses a smaller rule instead. Evidence of mojibake is
/// a character sequence that re-encodes (Windows-1252/Latin-1) to one complete, valid multi-byte UTF-8 character
/// and is unlikely in real text: any 3- or 4-byte sequence, a 2-byte one led by `Â`/`Ã`, or a 2-byte one whose
/// second character is not punctuation that often follows a capital letter legitimately (`CAFÉ”`, `É’`, `Ö»`).
/// With evidence, the whole text is re-decoded if it can be, otherwise each evident sequence is decoded in place
/// (ftfy's `decode_inconsistent_utf8`). Byte-A0 restoration and lossy-sequence replacement are not done.
enum MojibakeRepair {
    /// Repairs until nothing changes, as ftfy does.
    static func repair(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var current = text
        while true {
            let next = repairOnce(current)
            if next == current { return current }
            current = next
        }
    }

    private static func repairOnce(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains(where: { $0.value >= 0x80 }), containsEvidentMojibake(text) else { return text }
        if let bytes = encodeLatin1(text), let decoded = decodeUTF8(bytes) { return decoded }
        if let bytes = encodeSloppyWindows1252(text), let decoded = decodeUTF8(bytes) { return decoded }
        return decodeSequencesInPlace(text)
    }

    /// The byte Windows-1252 (with the five undefined bytes passed through) encodes `scalar` as.
    static func windows1252Byte(_ scalar: Unicode.Scalar) -> UInt8? {
        switch scalar.value {
        case 0..<0x80, 0xA0...0xFF, 0x81, 0x8D, 0x8F, 0x90, 0x9D: return UInt8(scalar.value)
        default: return TextCleaningLookup.windows1252Bytes[scalar.value]
        }
    }

    private static func encodeLatin1(_ text: [Unicode.Scalar]) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count)
        for scalar in text {
            guard scalar.value <= 0xFF else { return nil }
            bytes.append(UInt8(scalar.value))
        }
        return bytes
    }

    private static func encodeSloppyWindows1252(_ text: [Unicode.Scalar]) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count)
        for scalar in text {
            guard let byte = windows1252Byte(scalar) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }

    /// Strict UTF-8 decoding (no overlong forms, surrogates or truncated sequences); nil when invalid.
    static func decodeUTF8(_ bytes: [UInt8]) -> [Unicode.Scalar]? {
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(bytes.count)
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): scalars.append(scalar)
            case .emptyInput: return scalars
            case .error: return nil
            }
        }
    }

    /// Number of continuation bytes a UTF-8 lead byte announces, for leads that can start a valid sequence.
    private static func continuationCount(lead: UInt8) -> Int? {
        switch lead {
        case 0xC2...0xDF: return 1
        case 0xE0...0xEF: return 2
        case 0xF0...0xF4: return 3
        default: return nil
        }
    }

    /// Characters that legitimately follow an accented capital often enough that `É` + one of them is no evidence.
    private static let plausibleFollowers: Set<UInt32> = [
        0x2019, 0x201D, 0x201C, 0x2018, 0x2013, 0x2014, 0x2026, 0x2022, 0xAB, 0xBB, 0xA0, 0xAE, 0xA9, 0xB0, 0x2122, 0xB7,
    ]

    /// The scalar decoded from an evident mojibake sequence starting at `start`, and its length, if there is one.
    private static func mojibakeSequence(_ text: [Unicode.Scalar], at start: Int) -> (Unicode.Scalar, Int)? {
        guard let lead = windows1252Byte(text[start]), let count = continuationCount(lead: lead),
              start + count < text.count else { return nil }
        var bytes = [lead]
        for offset in 1...count {
            guard let byte = windows1252Byte(text[start + offset]), (0x80...0xBF).contains(byte) else { return nil }
            bytes.append(byte)
        }
        if count == 1, lead != 0xC2, lead != 0xC3, plausibleFollowers.contains(text[start + 1].value) { return nil }
        guard let decoded = decodeUTF8(bytes), decoded.count == 1 else { return nil }
        return (decoded[0], count + 1)
    }

    private static func containsEvidentMojibake(_ text: [Unicode.Scalar]) -> Bool {
        text.indices.contains { text[$0].value >= 0xC2 && mojibakeSequence(text, at: $0) != nil }
    }

    private static func decodeSequencesInPlace(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var output: [Unicode.Scalar] = []
        output.reserveCapacity(text.count)
        var index = 0
        while index < text.count {
            if text[index].value >= 0xC2, let (scalar, length) = mojibakeSequence(text, at: index) {
                output.append(scalar)
                index += length
            } else {
                output.append(text[index])
                index += 1
            }
        }
        return output
    }
}
