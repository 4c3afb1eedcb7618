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

    /// The merges OpenCLIP uses: whitespace-separated pairs on lines 1...48,894 (the rest of the file is ignored).
    static func parseMerges(_ bytes: [UInt8], source: String) throws -> [(String, String)] {
        var merges: [(String, String)] = []
        merges.reserveCapacity(mergeCount)
        try bytes.withUnsafeBufferPointer { buffer in
            var lineStart = 0, lineNumber = 0
            while lineStart < buffer.count, merges.count < mergeCount {
                var lineEnd = lineStart
                while lineEnd < buffer.count, buffer[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
                if lineNumber > 0 {
                    merges.append(try parseMergeLine(buffer[lineStart..<lineEnd], lineNumber: lineNumber + 1, source: source))
                }
                lineStart = lineEnd + 1
                lineNumber += 1
            }
        }
        guard merges.count == mergeCount else {
            throw TokenizerError.malformedFile(
                path: source, reason: "has \(merges.count) merges, CLIP needs \(mergeCount) after the header line")
        }
        return merges
    }

    /// Splits one line at ASCII whitespace; the byte-level alphabet has no other whitespace characters.
    private static func parseMergeLine(_ line: Slice<UnsafeBufferPointer<UInt8>>, lineNumber: Int,
                                       source: String) throws -> (String, String) {
        let isSeparator: (UInt8) -> Bool = { $0 == 0x20 || (0x09...0x0D).contains($0) }
        let fields = line.split(whereSeparator: isSeparator)
        guard fields.count == 2, let left = String(validating: fields[0], as: UTF8.self),
              let right = String(validating: fields[1], as: UTF8.self) else {
            let shown = String(decoding: line.prefix(80), as: UTF8.self)
            throw TokenizerError.malformedFile(
                path: source, reason: "line \(lineNumber) is not a merge pair of two symbols: '\(shown)'")
        }
        return (left, right)
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
