import Foundation
import Text
import TrainingKit

/// The ids that frame a generated caption and how its ids become text, for the tokenizer a model was trained with.
public struct CaptionVocabulary: Sendable {
    public let startTokenId: Int32
    public let endTokenId: Int32
    let decode: @Sendable ([Int32]) -> String

    /// `source` names the tokenizer in the error for one that cannot decode.
    public init(tokenizer: TextTokenizer, source: String) throws {
        switch tokenizer {
        case let trained as TrainedBPETokenizer:
            (startTokenId, endTokenId, decode) = (trained.startOfTextID, trained.endOfTextID, trained.decode)
        case let clip as CLIPBPETokenizer:
            (startTokenId, endTokenId, decode) = (CLIPBPETokenizer.startOfTextID, CLIPBPETokenizer.endOfTextID, clip.decode)
        default:
            throw TrainingError("\(source): the tokenizer cannot decode captions")
        }
    }

    /// The text of a generated row: the ids after the start token, up to the first end or pad token.
    public func text(of row: [Int32], padTokenId: Int32) -> String {
        decode(Array(row.dropFirst().prefix { $0 != endTokenId && $0 != padTokenId })).trimmingCharacters(in: .whitespaces)
    }

    /// Generation limits with these ids (OpenCLIP's `generate()` defaults: `seq_len` 30, `min_seq_len` 5); `maxLength`
    /// above what the text tower can feed back (`contextLength` + 1) is an error naming `flag`.
    public func limits(padTokenId: Int32, contextLength: Int, minLength: Int = 5, maxLength: Int = 30, flag: String = "--max-length") throws -> CaptionLimits {
        guard maxLength <= contextLength + 1 else {
            throw TrainingError("\(flag) \(maxLength) is above the model's text context length + 1 (\(contextLength + 1))")
        }
        return CaptionLimits(startTokenId: startTokenId, endTokenId: endTokenId, padTokenId: padTokenId, maxLength: maxLength, minLength: minLength)
    }
}
