/// The text rule of the project's caption metrics (Tests/Fixtures/caption-metrics/README.md), used instead of the COCO
/// evaluation's PTBTokenizer because that one needs Java: ASCII lower-case, every character outside `[a-z0-9]` becomes a
/// space, then words are the runs between spaces. `"A T-Shirt, folded."` gives `a t shirt folded`; `"...!"` gives nothing.
public enum CaptionNormalization {
    /// The words the scorers count.
    public static func words(_ raw: String) -> [String] {
        var words: [String] = []
        var word: [UInt8] = []
        // Bytes, not Characters: a non-ASCII scalar's UTF-8 bytes are all >= 0x80, so each is a separator, as the rule says.
        for byte in raw.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                word.append(byte)
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                word.append(byte + (UInt8(ascii: "a") - UInt8(ascii: "A")))
            default:
                if !word.isEmpty { words.append(String(decoding: word, as: UTF8.self)); word.removeAll(keepingCapacity: true) }
            }
        }
        if !word.isEmpty { words.append(String(decoding: word, as: UTF8.self)) }
        return words
    }

    /// The normalised caption: its words joined by single spaces (the scorer input of the fixture's `refs`/`candidate`).
    public static func normalize(_ raw: String) -> String {
        words(raw).joined(separator: " ")
    }
}
