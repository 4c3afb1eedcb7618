/// The `cmap` table: code point -> glyph id, from the best Unicode subtable (format 12, full repertoire, preferred to
/// format 4, the Basic Multilingual Plane only).
public struct CharacterMap {
    /// Sorted, non-overlapping ranges of code points and the glyph of each range's first code point (format 12's
    /// groups; format 4's segments become one range per code point whose glyph does not follow arithmetically).
    struct Range {
        var first: UInt32, last: UInt32, firstGlyph: UInt32
    }
    let ranges: [Range]

    init(font: SFNTFont) throws {
        let file = font.file
        let cmap = try font.requiredTable("cmap")
        let count = Int(try file.u16(cmap + 2, "cmap header"))
        var best: (rank: Int, offset: Int)?
        for i in 0..<count {
            let record = cmap + 4 + 8 * i
            let platform = try file.u16(record, "cmap record"), encoding = try file.u16(record + 2, "cmap record")
            let offset = cmap + (try file.int(record + 4, "cmap record"))
            let format = try file.u16(offset, "cmap subtable")
            let unicode = platform == 0 || (platform == 3 && (encoding == 1 || encoding == 10))
            guard unicode, format == 12 || format == 4 else { continue }
            let rank = format == 12 ? 2 : 1
            if rank > (best?.rank ?? 0) { best = (rank, offset) }
        }
        guard let best else { throw file.malformed("cmap has no Unicode subtable of format 12 or 4") }
        ranges = best.rank == 2 ? try Self.format12(file, best.offset) : try Self.format4(file, best.offset)
    }

    /// The glyph of a code point, nil when the font has none (glyph 0, `.notdef`, counts as none).
    public func glyph(_ codePoint: UInt32) -> UInt16? {
        var lo = 0, hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[mid].last < codePoint { lo = mid + 1 } else { hi = mid }
        }
        guard lo < ranges.count, ranges[lo].first <= codePoint else { return nil }
        let glyph = ranges[lo].firstGlyph &+ (codePoint - ranges[lo].first)
        return glyph == 0 || glyph > 0xFFFF ? nil : UInt16(glyph)
    }

    static func format12(_ file: FontBytes, _ offset: Int) throws -> [Range] {
        let groups = try file.int(offset + 12, "cmap format 12 header")
        try file.check(offset + 16, groups * 12, "cmap format 12 groups")
        var ranges: [Range] = []
        ranges.reserveCapacity(groups)
        for g in 0..<groups {
            let at = offset + 16 + 12 * g
            let range = Range(first: try file.u32(at, "cmap group"), last: try file.u32(at + 4, "cmap group"),
                              firstGlyph: try file.u32(at + 8, "cmap group"))
            guard range.first <= range.last, range.first > (ranges.last?.last ?? 0) || ranges.isEmpty else {
                throw file.malformed("cmap format 12 groups are not sorted and disjoint (group \(g))")
            }
            ranges.append(range)
        }
        return ranges
    }

    static func format4(_ file: FontBytes, _ offset: Int) throws -> [Range] {
        let segments = Int(try file.u16(offset + 6, "cmap format 4 header")) / 2
        let ends = offset + 14, starts = ends + 2 * segments + 2, deltas = starts + 2 * segments, rangeOffsets = deltas + 2 * segments
        var ranges: [Range] = []
        for s in 0..<segments {
            let end = UInt32(try file.u16(ends + 2 * s, "cmap format 4 endCode"))
            let start = UInt32(try file.u16(starts + 2 * s, "cmap format 4 startCode"))
            let delta = UInt32(UInt16(bitPattern: try file.i16(deltas + 2 * s, "cmap format 4 idDelta")))
            let rangeOffset = Int(try file.u16(rangeOffsets + 2 * s, "cmap format 4 idRangeOffset"))
            guard start <= end, start != 0xFFFF else { continue }
            if rangeOffset == 0 {
                // Glyphs wrap modulo 65536; split the segment where they do so each range's glyphs stay consecutive.
                var c = start
                while c <= end {
                    let glyph = (c + delta) & 0xFFFF
                    let last = min(end, c + (0xFFFF - glyph))
                    ranges.append(Range(first: c, last: last, firstGlyph: glyph))
                    c = last + 1
                }
            } else {
                for c in start...end {
                    let at = rangeOffsets + 2 * s + rangeOffset + 2 * Int(c - start)
                    let raw = UInt32(try file.u16(at, "cmap format 4 glyphIdArray"))
                    if raw != 0 { ranges.append(Range(first: c, last: c, firstGlyph: (raw + delta) & 0xFFFF)) }
                }
            }
        }
        return ranges.sorted { $0.first < $1.first }
    }
}
