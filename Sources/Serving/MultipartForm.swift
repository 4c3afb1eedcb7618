import Foundation

/// A `multipart/form-data` body (RFC 7578) split into its parts: each part's field name, file name when it is a
/// file, and bytes. Only what a search upload needs: no nested multiparts, no transfer encodings.
struct MultipartForm {
    struct Part {
        var name: String
        var filename: String?
        var contentType: String?
        var body: [UInt8]
    }

    let parts: [Part]

    /// The boundary of a `Content-Type: multipart/form-data; boundary=...` header, nil for any other type.
    static func boundary(contentType: String) -> String? {
        let fields = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard fields.first?.lowercased() == "multipart/form-data" else { return nil }
        for field in fields.dropFirst() where field.lowercased().hasPrefix("boundary=") {
            let value = field.dropFirst("boundary=".count)
            return value.count >= 2 && value.hasPrefix("\"") && value.hasSuffix("\"") ? String(value.dropFirst().dropLast()) : String(value)
        }
        return ""
    }

    init(body: [UInt8], boundary: String) throws {
        guard !boundary.isEmpty else { throw ServingError.badRequest("multipart/form-data without a boundary") }
        // Every delimiter is CRLF "--" boundary; a leading CRLF lets the first one (at the body's start) match too.
        let data = [0x0D, 0x0A] + body
        let delimiter = Array("\r\n--\(boundary)".utf8)
        var positions: [Int] = []
        var from = 0
        while let found = Self.find(delimiter, in: data, from: from) {
            positions.append(found)
            from = found + delimiter.count
        }
        guard positions.count >= 2 else { throw ServingError.badRequest("malformed multipart body: boundary \"\(boundary)\" not found twice") }
        var parts: [Part] = []
        for (start, end) in zip(positions, positions.dropFirst()) {
            let begin = start + delimiter.count + 2
            guard begin <= end, data[begin - 2] == 0x0D, data[begin - 1] == 0x0A else {
                throw ServingError.badRequest("malformed multipart body: no line break after a boundary")
            }
            parts.append(try Self.part(Array(data[begin..<end])))
        }
        self.parts = parts
    }

    func part(named name: String) -> Part? { parts.first { $0.name == name } }

    /// One part: header lines, a blank line, the content.
    private static func part(_ bytes: [UInt8]) throws -> Part {
        guard let split = find(Array("\r\n\r\n".utf8), in: bytes, from: 0) else {
            throw ServingError.badRequest("malformed multipart body: a part's headers do not end")
        }
        let headers = String(decoding: bytes[..<split], as: UTF8.self).components(separatedBy: "\r\n")
        var name: String?, filename: String?, contentType: String?
        for header in headers {
            let pieces = header.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pieces.count == 2 else { continue }
            switch pieces[0].lowercased() {
            case "content-disposition":
                name = parameter("name", of: pieces[1])
                filename = parameter("filename", of: pieces[1])
            case "content-type": contentType = pieces[1]
            default: break
            }
        }
        guard let name else { throw ServingError.badRequest("malformed multipart body: a part has no Content-Disposition name") }
        return Part(name: name, filename: filename, contentType: contentType, body: Array(bytes[(split + 4)...]))
    }

    /// `key="value"` (or unquoted) inside a Content-Disposition header.
    private static func parameter(_ key: String, of header: String) -> String? {
        for field in header.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let pair = field.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].lowercased() == key else { continue }
            let value = String(pair[1])
            return value.count >= 2 && value.hasPrefix("\"") && value.hasSuffix("\"") ? String(value.dropFirst().dropLast()) : value
        }
        return nil
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard let first = needle.first, haystack.count >= needle.count else { return nil }
        var index = start
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == first && haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
