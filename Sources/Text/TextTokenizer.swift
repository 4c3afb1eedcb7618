/// A tokenizer that turns captions into fixed-length rows of token ids for the text tower.
public protocol TextTokenizer: Sendable {
    /// Number of ids the tokenizer can produce; the model's `vocab_size` must be at least this.
    var vocabularySize: Int { get }
    /// Encodes one caption as start token, content ids, end token, zero padding, truncated to `contextLength`
    /// with the end token kept (OpenCLIP's framing).
    func encode(_ text: String, contextLength: Int) -> [Int32]
}
