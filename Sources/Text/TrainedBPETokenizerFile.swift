import Foundation

/// The JSON file of a `TrainedBPETokenizer`: metadata plus the merges, human-readable like CLIP's merges file.
struct TrainedBPETokenizerFile: Codable {
    static let formatName = "swiftclip-bpe-tokenizer"
    static let currentVersion = 1

    struct SpecialTokens: Codable, Equatable {
        var padding: Int
        var startOfText: Int
        var endOfText: Int
    }

    var format: String
    var version: Int
    /// How text is cleaned and split before BPE; only OpenCLIP's is supported.
    var cleaning: String
    var vocabularySize: Int
    var specialTokens: SpecialTokens
    /// Word-final byte symbols, written in the byte-level mapping.
    var wordFinalBytes: String
    /// `"left right"` per merge, in rank order.
    var merges: [String]
}

extension TrainedBPETokenizer {
    static let cleaningName = "openclip-lower"

    /// The tokenizer as JSON (keys sorted so that identical tokenizers give identical files).
    public func jsonData() throws -> Data {
        let file = TrainedBPETokenizerFile(
            format: TrainedBPETokenizerFile.formatName, version: TrainedBPETokenizerFile.currentVersion,
            cleaning: Self.cleaningName, vocabularySize: vocabularySize,
            specialTokens: .init(padding: Int(Self.paddingID), startOfText: Int(startOfTextID), endOfText: Int(endOfTextID)),
            wordFinalBytes: ByteLevelMapping.text(for: wordFinalBytes),
            merges: merges.map { "\($0.0) \($0.1)" })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(file)
    }

    /// Writes the JSON file.
    public func save(to path: String) throws {
        do {
            try jsonData().write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw TokenizerError.unreadableFile(path: path, reason: "cannot write: \((error as NSError).localizedDescription)")
        }
    }

    /// Loads a tokenizer saved by `save(to:)`.
    public convenience init(contentsOf path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw TokenizerError.unreadableFile(path: path, reason: (error as NSError).localizedDescription)
        }
        try self.init(jsonData: data, source: path)
    }

    /// Parses the JSON form; `source` names it in errors.
    public convenience init(jsonData data: Data, source: String) throws {
        let file: TrainedBPETokenizerFile
        do {
            file = try JSONDecoder().decode(TrainedBPETokenizerFile.self, from: data)
        } catch {
            throw TokenizerError.malformedFile(path: source, reason: "not a SwiftCLIP BPE tokenizer JSON file (\(Self.describe(error)))")
        }
        guard file.format == TrainedBPETokenizerFile.formatName else {
            throw TokenizerError.malformedFile(path: source, reason: "format is '\(file.format)', expected '\(TrainedBPETokenizerFile.formatName)'")
        }
        guard file.version == TrainedBPETokenizerFile.currentVersion else {
            throw TokenizerError.malformedFile(path: source, reason: "version \(file.version) is not supported (expected \(TrainedBPETokenizerFile.currentVersion))")
        }
        guard file.cleaning == Self.cleaningName else {
            throw TokenizerError.malformedFile(path: source, reason: "cleaning '\(file.cleaning)' is not supported (expected '\(Self.cleaningName)')")
        }
        let expectedSpecials = TrainedBPETokenizerFile.SpecialTokens(
            padding: 0, startOfText: file.vocabularySize - 2, endOfText: file.vocabularySize - 1)
        guard file.specialTokens == expectedSpecials else {
            throw TokenizerError.malformedFile(path: source, reason: "special token ids must be padding 0, start vocabularySize-2, end vocabularySize-1")
        }
        guard let finalBytes = ByteLevelMapping.bytes(for: Substring(file.wordFinalBytes)) else {
            throw TokenizerError.malformedFile(path: source, reason: "wordFinalBytes contains a character outside the byte-level mapping")
        }
        var merges: [(String, String)] = []
        merges.reserveCapacity(file.merges.count)
        for (index, line) in file.merges.enumerated() {
            let parts = line.split(separator: " ")
            guard parts.count == 2 else {
                throw TokenizerError.malformedFile(path: source, reason: "merge \(index + 1) ('\(line)') is not two symbols separated by one space")
            }
            merges.append((String(parts[0]), String(parts[1])))
        }
        try self.init(vocabularySize: file.vocabularySize, wordFinalBytes: finalBytes, merges: merges, source: source)
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "missing key '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
        case DecodingError.dataCorrupted: return "invalid JSON"
        default: return "\(error)".split(separator: "\n").first.map(String.init) ?? "unknown error"
        }
    }
}
