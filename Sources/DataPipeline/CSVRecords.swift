/// One CSV record: its fields and the line it starts on.
struct CSVRecord { var fields: [String]; var line: Int }

enum CSVRecords {
    /// RFC 4180 parsing over UTF-8 bytes (fast on multi-gigabyte files) with a one-byte separator; reports the line
    /// where an unterminated quote began. Lines end with LF, CRLF or CR.
    static func parse(_ bytes: [UInt8], separator: UInt8, path: String) throws -> [CSVRecord] {
        let quote = UInt8(ascii: "\""), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        var records: [CSVRecord] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var inQuotes = false, atFieldStart = true
        var line = 1, recordLine = 1, quoteLine = 1
        var i = 0
        let n = bytes.count
        func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            atFieldStart = true
        }
        while i < n {
            let c = bytes[i]
            if inQuotes {
                if c == quote {
                    if i + 1 < n && bytes[i + 1] == quote { field.append(quote); i += 1 } else { inQuotes = false }
                } else {
                    if c == lf || (c == cr && !(i + 1 < n && bytes[i + 1] == lf)) { line += 1 }
                    field.append(c)
                }
            } else if c == quote && atFieldStart {
                inQuotes = true
                quoteLine = line
                atFieldStart = false
            } else if c == separator {
                endField()
            } else if c == lf || c == cr {
                if c == cr && i + 1 < n && bytes[i + 1] == lf { i += 1 }
                endField()
                records.append(CSVRecord(fields: fields, line: recordLine))
                fields.removeAll()
                line += 1
                recordLine = line
            } else {
                field.append(c)
                atFieldStart = false
            }
            i += 1
        }
        if inQuotes { throw DataPipelineError.malformedCSV(path: path, line: quoteLine, reason: "unterminated quoted field") }
        if !field.isEmpty || !fields.isEmpty {
            endField()
            records.append(CSVRecord(fields: fields, line: recordLine))
        }
        return records
    }
}
