/// A colour-bitmap emoji font: the PNG drawn for an emoji's code point sequence, through `cmap` for single code points
/// and `GSUB` ligatures for sequences.
public struct EmojiFont {
    public let path: String
    public let characterMap: CharacterMap
    public let bitmaps: ColorBitmaps
    public let ligatures: LigatureSubstitutions

    public init(path: String) throws {
        let font = try SFNTFont(path: path)
        self.path = path
        characterMap = try CharacterMap(font: font)
        bitmaps = try ColorBitmaps(font: font)
        ligatures = try LigatureSubstitutions(font: font)
    }

    static let variationSelector16: UInt32 = 0xFE0F

    /// The glyph drawing a sequence: the sequence as given, else without emoji variation selectors (fonts often
    /// map the bare form and leave U+FE0F out of their ligatures).
    public func glyph(_ codePoints: [UInt32]) -> UInt16? {
        let bare = codePoints.filter { $0 != Self.variationSelector16 }
        for candidate in bare == codePoints || bare.isEmpty ? [codePoints] : [codePoints, bare] {
            let glyphs = candidate.compactMap(characterMap.glyph)
            guard glyphs.count == candidate.count else { continue }
            if glyphs.count == 1, bitmaps.png(glyph: glyphs[0]) != nil { return glyphs[0] }
            if glyphs.count > 1, let ligature = ligatures.ligature(glyphs) { return ligature }
        }
        return nil
    }

    /// The PNG of an emoji, nil when the font cannot draw the sequence as one glyph.
    public func png(_ codePoints: [UInt32]) -> [UInt8]? {
        glyph(codePoints).flatMap(bitmaps.png(glyph:))
    }
}
