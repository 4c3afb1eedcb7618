import Foundation

/// Reads the rows of one CSV file as cells of the wanted fields, checking the header and the cells.
struct CSVFieldReader {
    let fields: [SampleField]
    /// The column of each field, in field order.
    let columns: [String]
    let warnings: WarningLog
    /// A row lacking a field is skipped with a warning (true) or an error naming the file and line (false).
    var skipIncomplete = true

    struct FileRows {
        var rows: [CSVSource.Row] = []
        /// The line each row starts on.
        var lines: [Int] = []
        var skipped = 0
    }

    func read(path: String, separator: UInt8) throws -> FileRows {
        var bytes = try readWholeFile(path)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }  // UTF-8 byte-order mark
        let records = try CSVRecords.parse(bytes, separator: separator, path: path)
        guard let header = records.first else { throw DataPipelineError.malformedCSV(path: path, line: 1, reason: "empty file") }
        let positions = try zip(fields, columns).map { field, column in
            guard let position = header.fields.firstIndex(of: column) else {
                throw DataPipelineError.malformedCSV(path: path, line: 1, reason: "no column '\(column)' for field \(field.name) "
                                                     + "(columns: \(header.fields.joined(separator: ", ")))")
            }
            return position
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        var result = FileRows()
        result.rows.reserveCapacity(records.count)
        var lacking: [(line: Int, cells: [String], field: Int)] = []
        var presence = [Int](repeating: 0, count: fields.count)
        var recordCount = 0
        for record in records.dropFirst() {
            if record.fields.count == 1 && record.fields[0].isEmpty { continue }  // blank line
            guard record.fields.count > positions.max()! else {
                throw DataPipelineError.malformedCSV(path: path, line: record.line,
                                                     reason: "\(record.fields.count) field(s), expected \(header.fields.count)")
            }
            recordCount += 1
            let cells = zip(fields, positions).map { field, position in
                let cell = record.fields[position]
                guard CSVSource.holdsPath(field), !cell.isEmpty, !cell.hasPrefix("/") else { return cell }
                return folder.appendingPathComponent(cell).path
            }
            // An empty caption is a caption; any other empty cell means the sample lacks that field.
            let empty = zip(fields, cells).map { field, cell in cell.isEmpty && field.kind != .text }
            for (f, isEmpty) in empty.enumerated() where !isEmpty { presence[f] += 1 }
            if let missing = empty.firstIndex(of: true) {
                lacking.append((record.line, cells, missing))
            } else {
                result.rows.append(CSVSource.Row(fields: fields, cells: cells))
                result.lines.append(record.line)
            }
        }
        if recordCount > 0, let absent = presence.firstIndex(of: 0) {
            throw DataPipelineError.fieldNotInDataset(source: path, field: fields[absent].name,
                                                      detail: "column '\(columns[absent])' is empty in all \(recordCount) rows")
        }
        for row in lacking {
            let image = fields.firstIndex(of: .image).map { row.cells[$0] }.flatMap { $0.isEmpty ? nil : " " + $0 } ?? ""
            let sample = "\(path):\(row.line)\(image)", detail = "column '\(columns[row.field])' is empty"
            guard skipIncomplete else {
                throw DataPipelineError.incompleteSample(sample: sample, field: fields[row.field].name, detail: detail)
            }
            warnings.warn("\(DataPipelineError.missingField(sample: sample, field: fields[row.field].name, detail: detail)); sample skipped")
        }
        result.skipped = lacking.count
        return result
    }
}
