/// The `CBLC` / `CBDT` tables (Google's colour bitmaps): for one strike (bitmap size), glyph id -> PNG data.
public struct ColorBitmaps {
    /// Pixels per em of the strike read (the largest in the font).
    public let ppem: Int
    /// Glyph id -> (offset, length) of the PNG data in the font file.
    let pngs: [UInt16: (offset: Int, length: Int)]
    let file: FontBytes

    init(font: SFNTFont) throws {
        let file = font.file
        self.file = file
        let cblc = try font.requiredTable("CBLC"), cbdt = try font.requiredTable("CBDT")
        let sizes = try file.int(cblc + 4, "CBLC header")
        guard sizes > 0 else { throw file.malformed("CBLC has no bitmap sizes") }
        // The strike with the most pixels per em: the sharpest source for downscaling.
        var strike = cblc + 8, bestPPEM = -1
        for i in 0..<sizes {
            let record = cblc + 8 + 48 * i
            let ppem = Int(try file.u8(record + 44, "CBLC bitmap size"))
            if ppem > bestPPEM { bestPPEM = ppem; strike = record }
        }
        ppem = bestPPEM
        let arrayOffset = cblc + (try file.int(strike, "CBLC bitmap size"))
        let subtables = try file.int(strike + 8, "CBLC bitmap size")
        var pngs: [UInt16: (Int, Int)] = [:]
        for s in 0..<subtables {
            let entry = arrayOffset + 8 * s
            let firstGlyph = Int(try file.u16(entry, "CBLC index subtable array")), lastGlyph = Int(try file.u16(entry + 2, "CBLC index subtable array"))
            guard firstGlyph <= lastGlyph else { throw file.malformed("CBLC index subtable \(s): glyph range \(firstGlyph)...\(lastGlyph)") }
            let header = arrayOffset + (try file.int(entry + 4, "CBLC index subtable array"))
            let indexFormat = try file.u16(header, "CBLC index subtable"), imageFormat = try file.u16(header + 2, "CBLC index subtable")
            let imageData = cbdt + (try file.int(header + 4, "CBLC index subtable"))
            for (glyph, offset, length) in try Self.glyphLocations(file, header: header, indexFormat: indexFormat,
                                                                  firstGlyph: firstGlyph, lastGlyph: lastGlyph) where length > 0 {
                pngs[UInt16(glyph)] = try Self.png(file, at: imageData + offset, length: length, imageFormat: imageFormat, glyph: glyph)
            }
        }
        self.pngs = pngs
    }

    /// The PNG of a glyph, nil when the strike has no bitmap for it.
    public func png(glyph: UInt16) -> [UInt8]? {
        guard let span = pngs[glyph] else { return nil }
        return Array(file.bytes[span.offset..<(span.offset + span.length)])
    }

    public var glyphCount: Int { pngs.count }

    /// (glyph, offset from the subtable's image data, length) of every glyph an index subtable lists.
    static func glyphLocations(_ file: FontBytes, header: Int, indexFormat: UInt16, firstGlyph: Int, lastGlyph: Int) throws -> [(Int, Int, Int)] {
        let body = header + 8, n = lastGlyph - firstGlyph + 1
        switch indexFormat {
        case 1, 3:
            let width = indexFormat == 1 ? 4 : 2
            func offset(_ i: Int) throws -> Int {
                width == 4 ? try file.int(body + 4 * i, "CBLC index format 1") : Int(try file.u16(body + 2 * i, "CBLC index format 3"))
            }
            return try (0..<n).map { i in (firstGlyph + i, try offset(i), try offset(i + 1) - offset(i)) }
        case 2:
            let size = try file.int(body, "CBLC index format 2")
            return (0..<n).map { i in (firstGlyph + i, i * size, size) }
        case 4:
            let count = try file.int(body, "CBLC index format 4")
            return try (0..<count).map { i in
                let pair = body + 4 + 4 * i
                let start = Int(try file.u16(pair + 2, "CBLC index format 4")), next = Int(try file.u16(pair + 6, "CBLC index format 4"))
                return (Int(try file.u16(pair, "CBLC index format 4")), start, next - start)
            }
        case 5:
            let size = try file.int(body, "CBLC index format 5"), count = try file.int(body + 12, "CBLC index format 5")
            return try (0..<count).map { i in (Int(try file.u16(body + 16 + 2 * i, "CBLC index format 5")), i * size, size) }
        default:
            throw file.malformed("CBLC index subtable format \(indexFormat) is not one of 1-5")
        }
    }

    /// Locates the PNG inside a glyph's CBDT record: formats 17 (small metrics) and 18 (big metrics) precede it with
    /// metrics, 19 keeps the metrics in CBLC; each stores the PNG's length before it.
    static func png(_ file: FontBytes, at offset: Int, length: Int, imageFormat: UInt16, glyph: Int) throws -> (Int, Int) {
        let metrics: Int
        switch imageFormat {
        case 17: metrics = 5
        case 18: metrics = 8
        case 19: metrics = 0
        default: throw file.malformed("glyph \(glyph): CBDT image format \(imageFormat) is not a PNG format (17, 18, 19)")
        }
        let dataLength = try file.int(offset + metrics, "CBDT glyph \(glyph)")
        guard metrics + 4 + dataLength <= length else {
            throw file.malformed("glyph \(glyph): CBDT PNG of \(dataLength) bytes overruns its \(length)-byte record")
        }
        try file.check(offset + metrics + 4, dataLength, "CBDT glyph \(glyph)")
        return (offset + metrics + 4, dataLength)
    }
}
