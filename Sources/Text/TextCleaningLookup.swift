/// Parsed forms of the generated cleaning tables, built once on first use.
enum TextCleaningLookup {
    /// HTML5 named references keyed by name (with `;` where the standard has it), as Python's `html.entities.html5`.
    static let html5Entities: [String: [Unicode.Scalar]] = parseNamed(TextCleaningTableData.html5Entities)
    /// Length in scalars of the longest HTML5 entity name, bounding the prefix search.
    static let longestEntityName: Int = html5Entities.keys.map { $0.unicodeScalars.count }.max() ?? 0
    /// ftfy's extra upper-case spellings (`AACUTE;`), used only by ftfy's own unescaping.
    static let ftfyUppercaseEntities: [String: [Unicode.Scalar]] = parseNamed(TextCleaningTableData.ftfyUppercaseEntities)
    /// Windows-1252 characters for bytes 0x80-0x9F, index = byte - 0x80.
    static let windows1252C1: [Unicode.Scalar] = {
        let table = parseNumbered(TextCleaningTableData.windows1252C1)
        return (0x80..<0xA0).map { table[UInt32($0)]![0] }
    }()
    /// Reverse of Windows-1252 for the 0x80-0x9F range: character to byte.
    static let windows1252Bytes: [UInt32: UInt8] = {
        var bytes: [UInt32: UInt8] = [:]
        for (offset, scalar) in windows1252C1.enumerated() { bytes[scalar.value] = UInt8(0x80 + offset) }
        return bytes
    }()
    /// ftfy's full-width/half-width replacements.
    static let fullWidthForms: [UInt32: [Unicode.Scalar]] = parseNumbered(TextCleaningTableData.fullWidthForms)
    /// html.unescape's fixed replacements for numeric references to invalid code points.
    static let invalidCharacterReferences: [UInt32: [Unicode.Scalar]] =
        parseNumbered(TextCleaningTableData.invalidCharacterReferences)
    /// Numeric references html.unescape turns into nothing.
    static let removedCodePoints: Set<UInt32> =
        Set(TextCleaningTableData.removedCodePoints.split(separator: ",").map { UInt32($0, radix: 16)! })

    private static func records(_ data: String) -> [(Substring, [Unicode.Scalar])] {
        data.split(separator: "\n").map { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            let scalars = fields[1].split(separator: ",").map { Unicode.Scalar(UInt32($0, radix: 16)!)! }
            return (fields[0], scalars)
        }
    }

    private static func parseNamed(_ data: String) -> [String: [Unicode.Scalar]] {
        var table: [String: [Unicode.Scalar]] = [:]
        for (key, value) in records(data) { table[String(key)] = value }
        return table
    }

    private static func parseNumbered(_ data: String) -> [UInt32: [Unicode.Scalar]] {
        var table: [UInt32: [Unicode.Scalar]] = [:]
        for (key, value) in records(data) { table[UInt32(key, radix: 16)!] = value }
        return table
    }
}
