import Foundation

/// A byte-level BPE tokenizer trained by the project (`BPETrainer`) for text towers with a small `vocab_size`.
///
/// It cleans and pre-tokenises exactly like `CLIPBPETokenizer`. Id layout for a vocabulary of size V:
/// 0 is padding; 1...256 are the bytes (in the byte-level mapping's order); then the word-final (`</w>`) forms
/// of the bytes seen at word ends in the training corpus; then one id per merge; V-2 is start-of-text and V-1
/// end-of-text, so the end token is the largest id of every row and OpenCLIP's `argmax(ids)` pooling finds it.
/// Ids between the last merge and V-2 are unused when the corpus offered fewer merges than the budget.
public final class TrainedBPETokenizer: TextTokenizer {
    public static let paddingID: Int32 = 0
    public let vocabularySize: Int
    /// Bytes that have a word-final symbol, in id order.
    public let wordFinalBytes: [UInt8]
    /// Merges in rank order, each as two symbols written in the byte-level mapping (`</w>` marks word ends).
    public let merges: [(String, String)]
    let model: BytePairModel

    public var startOfTextID: Int32 { Int32(vocabularySize - 2) }
    public var endOfTextID: Int32 { Int32(vocabularySize - 1) }

    /// Ids needed before any merge: padding, 256 bytes, the word-final forms, start and end.
    static func minimumVocabularySize(wordFinalByteCount: Int) -> Int { 1 + 256 + wordFinalByteCount + 2 }

    /// Builds a tokenizer from its parts; `source` names the file (or origin) in errors.
    public init(vocabularySize: Int, wordFinalBytes: [UInt8], merges: [(String, String)], source: String) throws {
        let finalOrder = Self.sortedInVocabularyOrder(wordFinalBytes)
        guard finalOrder.count == wordFinalBytes.count, finalOrder == wordFinalBytes else {
            throw TokenizerError.malformedFile(path: source, reason: "word-final bytes must be distinct and in vocabulary order")
        }
        let needed = Self.minimumVocabularySize(wordFinalByteCount: wordFinalBytes.count) + merges.count
        guard vocabularySize >= needed, vocabularySize <= Int(Int32.max) else {
            throw TokenizerError.malformedFile(
                path: source, reason: "vocabulary size \(vocabularySize) cannot hold its \(needed) ids (bytes, merges, specials)")
        }
        self.vocabularySize = vocabularySize
        self.wordFinalBytes = wordFinalBytes
        self.merges = merges
        let inner = ByteLevelMapping.vocabularyOrder.map { String(ByteLevelMapping.characterForByte[Int($0)]) }
        let final = wordFinalBytes.map { String(ByteLevelMapping.characterForByte[Int($0)]) + BytePairModel.endOfWordMarker }
        model = try BytePairModel(baseSymbols: [""] + inner + final,
                                  merges: merges,
                                  startOfTextID: Int32(vocabularySize - 2), endOfTextID: Int32(vocabularySize - 1),
                                  fallbackFinalToInner: true, source: source)
    }

    static func sortedInVocabularyOrder(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        let present = Set(bytes)
        return ByteLevelMapping.vocabularyOrder.filter { present.contains($0) }
    }

    /// Fails with a one-line error naming both sizes when some id would not fit the model's embedding table.
    public func check(fitsModelVocabulary modelVocabularySize: Int) throws {
        guard vocabularySize <= modelVocabularySize else {
            throw TokenizerError.vocabularyTooLarge(tokenizer: vocabularySize, model: modelVocabularySize)
        }
    }

    /// Content ids of `text` after CLIP cleaning, without start/end tokens; at most `limit` of them.
    public func contentIDs(_ text: String, limit: Int = .max) -> [Int32] {
        model.contentIDs(cleaned: CLIPTextCleaner.cleanScalars(text), limit: limit)
    }

    /// Start, content (truncated with the end token kept), end, zero padding to `contextLength`.
    public func encode(_ text: String, contextLength: Int) -> [Int32] {
        model.frame(content: contentIDs(text, limit: contextLength - 2), contextLength: contextLength, padded: true)
    }

    /// The row without padding.
    public func encodeUnpadded(_ text: String, contextLength: Int) -> [Int32] {
        model.frame(content: contentIDs(text, limit: contextLength - 2), contextLength: contextLength, padded: false)
    }

    /// Text of content ids (special and padding ids are skipped; word ends become spaces).
    public func decode(_ ids: [Int32]) -> String {
        model.decode(ids.filter { $0 != Self.paddingID && $0 < startOfTextID })
    }
}
