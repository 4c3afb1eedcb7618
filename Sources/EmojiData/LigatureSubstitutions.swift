/// The `GSUB` table's ligature substitutions (lookup type 4, also inside type-7 extensions): a sequence of glyphs ->
/// the ligature glyph, which is how emoji fonts draw flags, skin-tone modifiers, keycaps and ZWJ sequences.
public struct LigatureSubstitutions {
    /// Component glyphs -> ligature glyph (the first lookup that defines a sequence wins, as a shaper applies them in order).
    let ligatures: [[UInt16]: UInt16]

    init(font: SFNTFont) throws {
        guard let table = font.tables["GSUB"]?.offset else {
            ligatures = [:]
            return
        }
        let file = font.file
        let lookupList = table + Int(try file.u16(table + 8, "GSUB header"))
        let lookups = Int(try file.u16(lookupList, "GSUB lookup list"))
        var ligatures: [[UInt16]: UInt16] = [:]
        for l in 0..<lookups {
            let lookup = lookupList + Int(try file.u16(lookupList + 2 + 2 * l, "GSUB lookup list"))
            let lookupType = try file.u16(lookup, "GSUB lookup \(l)")
            let subtables = Int(try file.u16(lookup + 4, "GSUB lookup \(l)"))
            for s in 0..<subtables {
                var subtable = lookup + Int(try file.u16(lookup + 6 + 2 * s, "GSUB lookup \(l)"))
                var type = lookupType
                if type == 7 {
                    type = try file.u16(subtable + 2, "GSUB extension subtable")
                    subtable += try file.int(subtable + 4, "GSUB extension subtable")
                }
                guard type == 4 else { continue }
                for (components, glyph) in try Self.ligatureSubtable(file, subtable) where ligatures[components] == nil {
                    ligatures[components] = glyph
                }
            }
        }
        self.ligatures = ligatures
    }

    /// The ligature drawing exactly these glyphs, if any.
    public func ligature(_ glyphs: [UInt16]) -> UInt16? { ligatures[glyphs] }

    public var count: Int { ligatures.count }

    static func ligatureSubtable(_ file: FontBytes, _ subtable: Int) throws -> [([UInt16], UInt16)] {
        guard try file.u16(subtable, "GSUB ligature subtable") == 1 else { throw file.malformed("GSUB ligature subtable format is not 1") }
        let firstGlyphs = try coverage(file, subtable + Int(try file.u16(subtable + 2, "GSUB ligature subtable")))
        let sets = Int(try file.u16(subtable + 4, "GSUB ligature subtable"))
        guard sets == firstGlyphs.count else { throw file.malformed("GSUB ligature subtable: \(sets) sets for \(firstGlyphs.count) covered glyphs") }
        var result: [([UInt16], UInt16)] = []
        for (i, first) in firstGlyphs.enumerated() {
            let set = subtable + Int(try file.u16(subtable + 6 + 2 * i, "GSUB ligature set"))
            for k in 0..<Int(try file.u16(set, "GSUB ligature set")) {
                let ligature = set + Int(try file.u16(set + 2 + 2 * k, "GSUB ligature"))
                let glyph = try file.u16(ligature, "GSUB ligature")
                let components = Int(try file.u16(ligature + 2, "GSUB ligature"))
                var sequence = [first]
                for c in 1..<max(components, 1) { sequence.append(try file.u16(ligature + 2 + 2 * c, "GSUB ligature component")) }
                result.append((sequence, glyph))
            }
        }
        return result
    }

    /// A coverage table's glyphs in coverage-index order.
    static func coverage(_ file: FontBytes, _ offset: Int) throws -> [UInt16] {
        let format = try file.u16(offset, "GSUB coverage"), count = Int(try file.u16(offset + 2, "GSUB coverage"))
        switch format {
        case 1: return try (0..<count).map { try file.u16(offset + 4 + 2 * $0, "GSUB coverage") }
        case 2:
            var glyphs: [UInt16] = []
            for r in 0..<count {
                let record = offset + 4 + 6 * r
                let start = try file.u16(record, "GSUB coverage range"), end = try file.u16(record + 2, "GSUB coverage range")
                guard start <= end else { throw file.malformed("GSUB coverage range \(start)...\(end)") }
                glyphs += Array(start...end)
            }
            return glyphs
        default: throw file.malformed("GSUB coverage format \(format)")
        }
    }
}
