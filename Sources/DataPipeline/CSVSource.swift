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

    /// - Parameter separator: one character; the two-character spelling `\t` is accepted for tab.
    public init(csvSpec: String, imageKey: String = "filepath", captionKey: String = "title", separator: String = "\t") throws {
        let sep: Character
        switch separator {
        case "\\t", "\t": sep = "\t"
        default:
            guard separator.count == 1, let c = separator.first else {
                throw DataPipelineError.invalidOption("CSV separator must be one character, got '\(separator)'")
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

    static func readRows(path: String, imageKey: String, captionKey: String, separator: Character) throws -> [Row] {
        let bytes = try readWholeFile(path)
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        let records = try parse(text, separator: separator, path: path)
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

    /// RFC 4180 parsing with a configurable separator; reports the line where an unterminated quote began.
    static func parse(_ text: String, separator: Character, path: String) throws -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field = ""
        var inQuotes = false
        var line = 1, recordLine = 1, quoteLine = 1
        var iterator = text.makeIterator()
        var pending: Character? = nil
        func nextChar() -> Character? {
            if let p = pending { pending = nil; return p }
            return iterator.next()
        }
        var atFieldStart = true
        while let c = nextChar() {
            if inQuotes {
                if c == "\"" {
                    if let n = nextChar() {
                        if n == "\"" { field.append("\"") } else { inQuotes = false; pending = n }
                    } else { inQuotes = false }
                } else {
                    if c == "\n" || c == "\r\n" { line += 1 }
                    field.append(c)
                }
                continue
            }
            if c == "\"" && atFieldStart {
                inQuotes = true
                quoteLine = line
                atFieldStart = false
            } else if c == separator {
                fields.append(field); field = ""; atFieldStart = true
            } else if c == "\n" || c == "\r\n" || c == "\r" {
                fields.append(field); field = ""
                records.append(Record(fields: fields, line: recordLine))
                fields = []
                line += 1
                recordLine = line
                atFieldStart = true
            } else {
                field.append(c)
                atFieldStart = false
            }
        }
        if inQuotes { throw DataPipelineError.malformedCSV(path: path, line: quoteLine, reason: "unterminated quoted field") }
        if !field.isEmpty || !fields.isEmpty {
            fields.append(field)
            records.append(Record(fields: fields, line: recordLine))
        }
        return records
    }
}
