import Foundation

/// CSV/TSV datasets in OpenCLIP's layout: a header row naming an image-path column (default `filepath`) and a
/// caption column (default `title`); fields may be quoted (RFC 4180, `""` escapes, embedded separators/newlines);
/// relative paths are resolved against the CSV file's folder. Several files may be joined with `::`.
public final class CSVSource: SampleSource, @unchecked Sendable {
    public struct Row: Sendable, Equatable {
        public var imagePath: String
        public var caption: String
    }

    public let rows: [Row]
    public let files: [String]

    /// - Parameter separator: one ASCII character; the two-character spelling `\t` is accepted for tab.
    public init(csvSpec: String, imageKey: String = "filepath", captionKey: String = "title", separator: String = "\t") throws {
        let sep: UInt8
        switch separator {
        case "\\t", "\t": sep = UInt8(ascii: "\t")
        default:
            guard separator.utf8.count == 1, let c = separator.utf8.first, c != UInt8(ascii: "\""), c != 10, c != 13 else {
                throw DataPipelineError.invalidOption("CSV separator must be one ASCII character other than a quote or newline, got '\(separator)'")
            }
            sep = c
        }
        files = try BraceExpansion.expandSources(csvSpec)
        var rows: [Row] = []
        for file in files { rows += try Self.readRows(path: file, imageKey: imageKey, captionKey: captionKey, separator: sep) }
        guard !rows.isEmpty else { throw DataPipelineError.invalidOption("\(csvSpec): no rows") }
        self.rows = rows
    }

    public var summary: String { "csv: \(rows.count) rows from \(files.count) file(s)" }
    public var indexingSkipped: Int { 0 }
    public func sampleCount() throws -> Int { rows.count }

    public func makeOrder(seed: UInt64, epoch: Int, shuffle: Bool) throws -> SampleOrder {
        PermutedOrder(count: rows.count, seed: seed, epoch: epoch, shuffle: shuffle)
    }

    public func load(id: Int) throws -> RawSample {
        let row = rows[id]
        return RawSample(image: .encoded(try readWholeFile(row.imagePath)), caption: row.caption, key: row.imagePath)
    }

    static func readRows(path: String, imageKey: String, captionKey: String, separator: UInt8) throws -> [Row] {
        var bytes = try readWholeFile(path)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }  // UTF-8 byte-order mark
        let records = try parse(bytes, separator: separator, path: path)
        guard let header = records.first else { throw DataPipelineError.malformedCSV(path: path, line: 1, reason: "empty file") }
        guard let imageColumn = header.fields.firstIndex(of: imageKey) else {
            throw DataPipelineError.malformedCSV(path: path, line: 1, reason: "no column '\(imageKey)' (columns: \(header.fields.joined(separator: ", ")))")
        }
        guard let captionColumn = header.fields.firstIndex(of: captionKey) else {
            throw DataPipelineError.malformedCSV(path: path, line: 1, reason: "no column '\(captionKey)' (columns: \(header.fields.joined(separator: ", ")))")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        var rows: [Row] = []
        rows.reserveCapacity(records.count)
        for record in records.dropFirst() {
            if record.fields.count == 1 && record.fields[0].isEmpty { continue }  // blank line
            guard record.fields.count > max(imageColumn, captionColumn) else {
                throw DataPipelineError.malformedCSV(path: path, line: record.line,
                                                     reason: "\(record.fields.count) field(s), expected \(header.fields.count)")
            }
            let file = record.fields[imageColumn]
            let resolved = file.hasPrefix("/") ? file : folder.appendingPathComponent(file).path
            rows.append(Row(imagePath: resolved, caption: record.fields[captionColumn]))
        }
        return rows
    }

    struct Record { var fields: [String]; var line: Int }

    /// RFC 4180 parsing over UTF-8 bytes (fast on multi-gigabyte files) with a one-byte separator; reports the line
    /// where an unterminated quote began. Lines end with LF, CRLF or CR.
    static func parse(_ bytes: [UInt8], separator: UInt8, path: String) throws -> [Record] {
        let quote = UInt8(ascii: "\""), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        var records: [Record] = []
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
                records.append(Record(fields: fields, line: recordLine))
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
            records.append(Record(fields: fields, line: recordLine))
        }
        return records
    }
}
