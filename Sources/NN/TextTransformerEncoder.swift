import TensorCore

/// OpenCLIP's causal text transformer, for any model family to compose: `token_embedding`, `positional_embedding`, the
/// transformer, `ln_final` and `text_projection`, registered in that order under the builder's scope (CLIP: the root,
/// as OpenCLIP's `CLIP` keeps them; a `TextTransformer` tower: `text`).
public struct TextTransformerEncoder {
    public let config: TextTransformerConfig
    let tokenEmbedding: Parameter
    /// CoCa's `cls_emb` (`embed_cls`): appended after the tokens and pooled.
    let clsEmbedding: Parameter?
    let positionalEmbedding: Parameter
    /// The transformer, `ln_final` and `text_projection`.
    var head: ProjectedTransformer

    /// Registers the tower's parameters with OpenCLIP's initialisation; `outputDim` is the projection's (`embed_dim`).
    public init(_ builder: ParameterBuilder, config: TextTransformerConfig, outputDim: Int, activation: Activation = .gelu) {
        self.config = config
        let width = config.width
        tokenEmbedding = builder.parameter("token_embedding.weight", [config.vocabSize, width], .normal(std: 0.02))
        clsEmbedding = config.embedCls ? builder.parameter("cls_emb", [width], .normal(std: 0.01)) : nil
        positionalEmbedding = builder.parameter("positional_embedding", [config.contextLength + (config.embedCls ? 1 : 0), width],
                                                .normal(std: 0.01))
        head = ProjectedTransformer(builder, width: width, layers: config.layers, heads: config.heads, mlpWidth: config.mlpWidth,
                                    activation: activation, initStds: TransformerInitStds(width: width, layers: config.layers),
                                    normName: "ln_final", projectionName: "text_projection", outputDim: outputDim)
    }

    /// The blocks; its `checkpointedBlocks` and `mlpRecomputedBlocks` are this tower's recomputation settings.
    public var transformer: Transformer {
        get { head.transformer }
        set { head.transformer = newValue }
    }

    /// Features [B, outputDim] of token rows `tokens` (B × context_length ids, row-major): each row's end-of-text token
    /// (its largest id, OpenCLIP's argmax pooling) after `ln_final`, projected (the last block computes those rows only).
    ///
    /// Attention is causal, so no position after a row's end-of-text token feeds the pooled one. The rows run in groups
    /// of similar caption length (`CaptionLengthGroups`), each only as far as its longest caption, and the MLPs skip
    /// the positions after each row's own end (short captions in a long context make most positions padding); the
    /// features and every gradient stay as they are.
    public func pooledFeatures(_ tokens: [Int32]) -> Tensor {
        let length = config.contextLength
        precondition(tokens.count % length == 0, "text encoder: \(tokens.count) token ids are not a whole number of rows of \(length)")
        let ends = Self.endOfTextPositions(tokens, contextLength: length)
        let groups = CaptionLengthGroups(lengths: ends.map { $0 + 1 }).groups
        let pooled = groups.map { group -> Tensor in
            let rows = group.rows
            let groupTokens = rows.flatMap { tokens[($0 * length)..<($0 * length + group.length)] }
            let x = tokenEmbedding.tensor.gatherRows(groupTokens).reshaped([rows.count, group.length, config.width])
                + positionalEmbedding.tensor.slice(axis: 0, 0..<group.length)
            let kept = rows.enumerated().map { Int32($0.offset * group.length + ends[$0.element]) }
            return head.transformer(x, causal: true, keepingRows: kept, mlpRows: Self.rowsThrough(kept, length: group.length))
        }
        // Back to the batch's order (groups hold their rows shortest first).
        let order = groups.flatMap(\.rows)
        var position = [Int32](repeating: 0, count: order.count)
        for (index, row) in order.enumerated() { position[row] = Int32(index) }
        let inOrder = order == Array(order.indices) ? Tensor.concatenate(pooled, axis: 0) : Tensor.concatenate(pooled, axis: 0).gatherRows(position)
        return Tensor.matmul(head.finalNorm(inOrder), head.projection.tensor)
    }

    /// Each row's end-of-text position within the row (the first largest id, as OpenCLIP's argmax pools).
    public static func endOfTextPositions(_ tokens: [Int32], contextLength length: Int) -> [Int] {
        (0..<(tokens.count / length)).map { b in
            var best = 0
            for i in 1..<length where tokens[b * length + i] > tokens[b * length + best] { best = i }
            return best
        }
    }

    /// The flattened positions 0...pooled[b] of every row b, or nil when that is every position.
    static func rowsThrough(_ pooled: [Int32], length: Int) -> [Int32]? {
        guard pooled.enumerated().contains(where: { b, row in Int(row) < b * length + length - 1 }) else { return nil }
        return pooled.enumerated().flatMap { b, row in (Int32(b * length)...row).map { $0 } }
    }

    /// Every position [B, L, W] after `ln_final`, unprojected (what a text decoder builds on).
    public func tokenFeatures(_ tokens: [Int32]) -> Tensor {
        head.tokens(embed(tokens), causal: true)
    }

    /// CoCa's text tower (`embed_cls`) on token rows of `length` ≤ context_length ids: the learned cls token is appended
    /// at position `length` of every row (padded or not), and attention is causal plus OpenCLIP's legacy CoCa padding
    /// mask (`legacyPaddingKeyCounts`). Returns the cls position after `ln_final`, projected, [B, outputDim], and the
    /// token positions [B, length, W] WITHOUT `ln_final` (what the decoder reads).
    ///
    /// With `attendedTokensOnly`, the MLPs skip the positions no query attends to (those past the first pad): the pooled
    /// output and the token features up to the first pad are unchanged, the others are finite but not the tower's (a
    /// captioner reads no position past a caption's end token).
    public func clsPooledAndTokenFeatures(_ tokens: [Int32], length: Int, attendedTokensOnly: Bool = false) -> (pooled: Tensor, tokens: Tensor) {
        guard let clsEmbedding else { preconditionFailure("text encoder: built without embed_cls") }
        precondition(length > 0 && length <= config.contextLength && tokens.count % length == 0,
                     "text encoder: \(tokens.count) token ids are not rows of \(length) ≤ \(config.contextLength)")
        let (batch, width) = (tokens.count / length, config.width)
        let cls = clsEmbedding.tensor.reshaped([1, 1, width]).expanded(to: [batch, 1, width])
        let x = Tensor.concatenate([tokenEmbedding.tensor.gatherRows(tokens).reshaped([batch, length, width]), cls], axis: 1)
            + positionalEmbedding.tensor.slice(axis: 0, 0..<(length + 1))
        let counts = Self.legacyPaddingKeyCounts(tokens, length: length, padId: Int32(config.padId))
        // Every query attends to keys below its row's count only; the cls position (`length`) is read in any case.
        let attendedRows = attendedTokensOnly && counts.contains { $0 <= length }
            ? counts.enumerated().flatMap { b, n in ((0..<n).map { $0 } + (n <= length ? [length] : [])).map { Int32(b * (length + 1) + $0) } }
            : nil
        let h = head.transformer(x, causal: true, validKeyCounts: counts, mlpRows: attendedRows)  // [B, length + 1, W]
        let last = h.slice(axis: 1, length..<(length + 1)).reshaped([batch, width])
        return (Tensor.matmul(head.finalNorm(last), head.projection.tensor), h.slice(axis: 1, 0..<length))
    }

    /// How many leading positions of each row (tokens then cls) the queries may attend to under OpenCLIP's legacy CoCa
    /// mask (`correct_cls_mask=False`): key k ≥ 1 is blocked iff token k-1 is the pad id, a mask shifted by one, so the
    /// first pad position stays visible and the cls token sees itself only in a row without padding. Padding is
    /// trailing (what a tokenizer writes), so the blocked keys are a suffix and a count per row says all the mask does.
    public static func legacyPaddingKeyCounts(_ tokens: [Int32], length: Int, padId: Int32) -> [Int] {
        stride(from: 0, to: tokens.count, by: length).map { start in
            let row = tokens[start..<(start + length)]
            guard let firstPad = row.firstIndex(of: padId) else { return length + 1 }
            precondition(row[firstPad...].allSatisfy { $0 == padId },
                         "text encoder: a token follows padding in row \(start / length) (padding must be trailing)")
            return firstPad - start + 1
        }
    }

    /// The token embeddings plus the positional embedding, [B, L, W].
    private func embed(_ tokens: [Int32]) -> Tensor {
        let length = config.contextLength
        precondition(tokens.count % length == 0, "text encoder: \(tokens.count) token ids are not a whole number of rows of \(length)")
        return tokenEmbedding.tensor.gatherRows(tokens).reshaped([tokens.count / length, length, config.width]) + positionalEmbedding.tensor
    }
}
