/// Errors of the tokenizers; each description is one line naming the file (or setting) and the problem.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    case unreadableFile(path: String, reason: String)
    case malformedFile(path: String, reason: String)
    case vocabularyTooLarge(tokenizer: Int, model: Int)
    case invalidTrainingSetting(String)

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason):
            return "\(path): cannot read tokenizer file: \(reason)"
        case .malformedFile(let path, let reason):
            return "\(path): malformed tokenizer file: \(reason)"
        case .vocabularyTooLarge(let tokenizer, let model):
            return "tokenizer vocabulary has \(tokenizer) ids but the model's vocab_size is \(model); "
                + "retrain the tokenizer with --vocab-size \(model) or raise the model's vocab_size to \(tokenizer)"
        case .invalidTrainingSetting(let reason):
            return "tokenizer training: \(reason)"
        }
    }
}
