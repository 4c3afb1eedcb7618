import Foundation

/// CSV/TSV datasets in OpenCLIP's layout: a header row naming a column per field (by default `filepath` for the image
/// path and `title` for the caption; other fields default to their own name, e.g. `label`, `labels`, `audio`); fields may
/// be quoted (RFC 4180, `""` escapes, embedded separators/newlines); image and audio cells are paths, resolved against
/// the CSV file's folder when relative. Several files may be joined with `::`.
///
/// A row whose cell of a wanted field is empty (an empty caption is a caption) is skipped and counted, with a warning
/// naming the file, line, sample and field, or with `skipIncomplete` off is an error naming them; a field whose column is
/// empty in every row of a file is an error.
public final class CSVSource: SampleSource, @unchecked Sendable {
    /// One row's cells, one per field of `fields`, in that order.
    public struct Row: Sendable, Equatable {
        public let fields: [SampleField]
        public var cells: [String]

        public init(fields: [SampleField], cells: [String]) {
            precondition(fields.count == cells.count, "CSVSource.Row: one cell per field")
            self.fields = fields
            self.cells = cells
        }

        /// An image-text row.
        public init(imagePath: String, caption: String) {
            self.init(fields: SampleField.imageText, cells: [imagePath, caption])
        }

        public subscript(field: SampleField) -> String? { fields.firstIndex(of: field).map { cells[$0] } }
        public var imagePath: String { self[.image] ?? "" }
        public var caption: String { self[.text] ?? "" }
    }

    struct Origin: Sendable { var file: Int; var line: Int }

    public let rows: [Row]
    public let files: [String]
    public let fields: [SampleField]
    let origins: [Origin]
    public let indexingSkipped: Int

    /// An image-text CSV with OpenCLIP's `--csv-img-key` / `--csv-caption-key` columns.
    /// - Parameter separator: one ASCII character; the two-character spelling `\t` is accepted for tab.
    public convenience init(csvSpec: String, imageKey: String = "filepath", captionKey: String = "title", separator: String = "\t") throws {
        try self.init(csvSpec: csvSpec, fields: SampleField.imageText, columns: [.image: imageKey, .text: captionKey], separator: separator)
    }

    /// - Parameter columns: the column of each field; fields not listed use `defaultColumn(for:)`.
    public init(csvSpec: String, fields: [SampleField], columns: [SampleField: String] = [:], separator: String = "\t",
                warnings: WarningLog = WarningLog(), skipIncomplete: Bool = true) throws {
        let sep = try Self.separatorByte(separator)
        try SampleField.validate(fields)
        files = try BraceExpansion.expandSources(csvSpec)
        let reader = CSVFieldReader(fields: fields, columns: fields.map { columns[$0] ?? Self.defaultColumn(for: $0) }, warnings: warnings,
                                    skipIncomplete: skipIncomplete)
        var rows: [Row] = [], origins: [Origin] = [], skipped = 0
        for (f, file) in files.enumerated() {
            let read = try reader.read(path: file, separator: sep)
            rows += read.rows
            origins += read.lines.map { Origin(file: f, line: $0) }
            skipped += read.skipped
        }
        guard !rows.isEmpty else { throw DataPipelineError.invalidOption("\(csvSpec): no rows") }
        self.fields = fields
        self.rows = rows
        self.origins = origins
        indexingSkipped = skipped
    }

    /// OpenCLIP's column names for image and caption; any other field's column is named like the field.
    public static func defaultColumn(for field: SampleField) -> String {
        switch field {
        case .image: return "filepath"
        case .text: return "title"
        default: return field.name
        }
    }

    /// Image and audio fields hold paths to files; the other cells are the values themselves.
    static func holdsPath(_ field: SampleField) -> Bool { field.kind == .image || field.kind == .audio }

    static func separatorByte(_ separator: String) throws -> UInt8 {
        switch separator {
        case "\\t", "\t": return UInt8(ascii: "\t")
        default:
            guard separator.utf8.count == 1, let c = separator.utf8.first, c != UInt8(ascii: "\""), c != 10, c != 13 else {
                throw DataPipelineError.invalidOption("CSV separator must be one ASCII character other than a quote or newline, got '\(separator)'")
            }
            return c
        }
    }

    public var summary: String { "csv: \(rows.count) rows from \(files.count) file(s)" }
    public func sampleCount() throws -> Int { rows.count }

    public func makeOrder(seed: UInt64, epoch: Int, shuffle: Bool) throws -> SampleOrder {
        PermutedOrder(count: rows.count, seed: seed, epoch: epoch, shuffle: shuffle)
    }

    public func load(id: Int) throws -> RawSample {
        let row = rows[id]
        let origin = origins[id]
        let key = row[.image] ?? "\(files[origin.file]):\(origin.line)"
        var values: [String: RawSample.Value] = [:]
        for (field, cell) in zip(fields, row.cells) {
            values[field.name] = Self.holdsPath(field)
                ? try FieldValueParser.value(of: field, bytes: try readWholeFile(cell), sample: key)
                : try FieldValueParser.value(of: field, text: cell, sample: key)
        }
        return RawSample(key: key, values: values)
    }
}
