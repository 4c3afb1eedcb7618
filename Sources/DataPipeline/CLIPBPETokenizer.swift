import Foundation

/// OpenCLIP's CLIP tokenizer (`SimpleTokenizer`, `get_tokenizer('ViT-B-32')`): byte-level BPE over the
/// OpenAI merges file `bpe_simple_vocab_16e6.txt.gz`, with OpenCLIP's cleaning, ids and framing.
public final class CLIPBPETokenizer: TextTokenizer {
    /// Merges OpenCLIP reads from the file: lines 1...48,894 (line 0 is a header; later lines are unused).
    public static let mergeCount = 49152 - 256 - 2
    public static let startOfTextID: Int32 = 49406
    public static let endOfTextID: Int32 = 49407
    /// OpenCLIP's default context length.
    public static let defaultContextLength = 77

    public let vocabularySize = 49408
    let model: BytePairModel

    /// Loads the merges file (gzip-compressed or plain text).
    public convenience init(mergesFile path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw TokenizerError.unreadableFile(path: path, reason: (error as NSError).localizedDescription)
        }
        try self.init(mergesFileContents: [UInt8](data), source: path)
    }

    /// Builds the tokenizer from the bytes of a merges file; `source` names it in errors.
    public init(mergesFileContents contents: [UInt8], source: String) throws {
        var text = contents
        if GzipDecoder.isGzip(contents) {
            do {
                text = try GzipDecoder.decompress(contents)
            } catch let failure as GzipDecoder.Failure {
                throw TokenizerError.malformedFile(path: source, reason: failure.reason)
            }
        }
        let merges = try Self.parseMerges(text, source: source)
        // Vocabulary order: mapped bytes, the same with `</w>`, then one id per merge, then the two specials.
        let byteSymbols = ByteLevelMapping.vocabularyOrder.map { String(ByteLevelMapping.characterForByte[Int($0)]) }
        let baseSymbols = byteSymbols + byteSymbols.map { $0 + BytePairModel.endOfWordMarker }
        model = try BytePairModel(baseSymbols: baseSymbols, merges: merges,
                                  startOfTextID: Self.startOfTextID, endOfTextID: Self.endOfTextID,
                                  fallbackFinalToInner: false, source: source)
    }

    /// The merges OpenCLIP uses: whitespace-separated pairs on lines 1...48,894.
    static func parseMerges(_ bytes: [UInt8], source: String) throws -> [(Substring, Substring)] {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw TokenizerError.malformedFile(path: source, reason: "merges file is not valid UTF-8")
        }
        var merges: [(Substring, Substring)] = []
        merges.reserveCapacity(mergeCount)
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            defer { lineNumber += 1 }
            if lineNumber == 0 { continue }
            if merges.count == mergeCount { break }
            let parts = line.split(whereSeparator: { $0.unicodeScalars.allSatisfy(PythonStringSemantics.isSpace) })
            guard parts.count == 2 else {
                throw TokenizerError.malformedFile(
                    path: source, reason: "line \(lineNumber + 1) is not a merge pair of two symbols: '\(line.prefix(80))'")
            }
            merges.append((parts[0], parts[1]))
        }
        guard merges.count == mergeCount else {
            throw TokenizerError.malformedFile(
                path: source, reason: "has \(merges.count) merges, CLIP needs \(mergeCount) after the header line")
        }
        return merges
    }

    /// Content ids of `text` after OpenCLIP's cleaning, without start/end tokens; at most `limit` of them.
    public func contentIDs(_ text: String, limit: Int = .max) -> [Int32] {
        model.contentIDs(cleaned: CLIPTextCleaner.cleanScalars(text), limit: limit)
    }

    /// One row exactly as OpenCLIP's tokenizer returns it: start, content (truncated, end kept), end, zeros.
    public func encode(_ text: String, contextLength: Int) -> [Int32] {
        model.frame(content: contentIDs(text, limit: contextLength - 2), contextLength: contextLength, padded: true)
    }

    /// The row without its zero padding: start, content ids, end (the first `lengths[i]` ids of OpenCLIP's row).
    public func encodeUnpadded(_ text: String, contextLength: Int = CLIPBPETokenizer.defaultContextLength) -> [Int32] {
        model.frame(content: contentIDs(text, limit: contextLength - 2), contextLength: contextLength, padded: false)
    }

    /// Text of ids, as OpenCLIP's `decode` (word ends become spaces; special tokens print as their names).
    public func decode(_ ids: [Int32]) -> String {
        var pieces: [Int32] = []
        var output = ""
        for id in ids {
            if id == Self.startOfTextID || id == Self.endOfTextID {
                output += model.decode(pieces) + (id == Self.startOfTextID ? "<start_of_text>" : "<end_of_text>")
                pieces.removeAll()
            } else {
                pieces.append(id)
            }
        }
        return output + model.decode(pieces)
    }
}
