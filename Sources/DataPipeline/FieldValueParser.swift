import Foundation

/// Turns a field's stored form (a tar member's bytes, a CSV cell) into the value its kind calls for. Class indices
/// are parsed here, when the sample is loaded, so a malformed one is a bad sample like an undecodable image.
enum FieldValueParser {
    /// A member's or file's bytes as `field` wants them; text is trimmed as WebDataset captions always were.
    static func value(of field: SampleField, bytes: [UInt8], sample: String) throws -> RawSample.Value {
        switch field.kind {
        case .image: return .image(.encoded(bytes))
        case .bytes, .audio: return .bytes(bytes)
        case .text: return .text(String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        case .label, .labels: return try value(of: field, text: String(decoding: bytes, as: UTF8.self), sample: sample)
        }
    }

    /// A CSV cell as `field` wants it (image and audio fields are paths and never come here).
    static func value(of field: SampleField, text: String, sample: String) throws -> RawSample.Value {
        switch field.kind {
        case .text: return .text(text)
        case .label: return .label(try classIndex(text, field: field, sample: sample))
        case .labels: return .labels(try classIndices(text, field: field, sample: sample))
        case .image, .audio, .bytes: return .bytes(Array(text.utf8))
        }
    }

    /// One non-negative integer, surrounding whitespace allowed ("3\n" as WebDataset `.cls` files hold it).
    static func classIndex(_ text: String, field: SampleField, sample: String) throws -> Int {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let index = Int(trimmed), index >= 0 else { throw malformed(text, field: field, sample: sample) }
        return index
    }

    /// Class indices separated by commas and/or whitespace, optionally in brackets: "3,17", "3 17", "[3, 17]".
    static func classIndices(_ text: String, field: SampleField, sample: String) throws -> [Int] {
        var body = Substring(text.trimmingCharacters(in: .whitespacesAndNewlines))
        if let first = body.first, let last = body.last, (first, last) == ("[", "]") || (first, last) == ("(", ")") {
            body = body.dropFirst().dropLast()
        }
        return try body.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map { item in
            guard let index = Int(item), index >= 0 else { throw malformed(text, field: field, sample: sample) }
            return index
        }
    }

    private static func malformed(_ text: String, field: SampleField, sample: String) -> DataPipelineError {
        let shown = text.count > 40 ? String(text.prefix(40)) + "..." : text
        let expected = field.kind == .labels ? "class indices separated by commas or spaces" : "a class index (a non-negative integer)"
        return .malformedSample(name: sample, reason: "field '\(field.name)' is \(shown.debugDescription), expected \(expected)")
    }
}
