import NN
import TensorCore

/// The token ids and limits of caption generation (OpenCLIP's `generate()` arguments).
public struct CaptionLimits: Sendable {
    public var startTokenId: Int32
    public var endTokenId: Int32
    public var padTokenId: Int32 = 0
    /// `seq_len`: the length of a caption, start token included, at which generation stops (at most the text context
    /// length + 1: every token but the last is fed back through the text tower).
    public var maxLength = 30
    /// `min_seq_len`: the end token is banned while a caption, start token included, is shorter than this.
    public var minLength = 5
    /// `repetition_penalty` (transformers' `RepetitionPenaltyLogitsProcessor`; 1: none).
    public var repetitionPenalty: Float = 1
    /// Beam search only: a hypothesis scores its summed logits over its length to this power (transformers'
    /// `length_penalty`; OpenCLIP's 1 is the mean logit).
    public var lengthPenalty: Float = 1

    public init(startTokenId: Int32, endTokenId: Int32, padTokenId: Int32 = 0, maxLength: Int = 30, minLength: Int = 5,
                repetitionPenalty: Float = 1, lengthPenalty: Float = 1) {
        self.startTokenId = startTokenId
        self.endTokenId = endTokenId
        self.padTokenId = padTokenId
        self.maxLength = maxLength
        self.minLength = minLength
        self.repetitionPenalty = repetitionPenalty
        self.lengthPenalty = lengthPenalty
    }
}

extension CoCaModel {
    /// Greedy captions of images [B, 3, H, W], as OpenCLIP's `generate(generation_type="top_k", top_k=1)` (see
    /// `generatedCaptions`): each token is the largest logit (the first of equal ones).
    public func greedyCaptions(images: Tensor, limits: CaptionLimits) -> [[Int32]] {
        generatedCaptions(images: images, limits: limits) { logits in
            var best = 0
            for v in logits.indices where logits[v] > logits[best] { best = v }
            return best
        }
    }

    /// Sampled captions of images [B, 3, H, W], as OpenCLIP's `generate(generation_type="top_k" | "top_p")` with
    /// `sampling`'s filter and temperature; the same seed gives the same captions.
    public func sampledCaptions(images: Tensor, limits: CaptionLimits, sampling: CaptionSampling) -> [[Int32]] {
        var rng = SplitMix64(seed: sampling.seed)
        return generatedCaptions(images: images, limits: limits) { sampling.draw($0, rng: &rng) }
    }

    /// Token-by-token captions as OpenCLIP's `generate()` without beams: each row starts with the start token; a row is
    /// finished once it ends with the end or the pad token, and then gets pad tokens; the end token is banned while a
    /// row is shorter than `minLength`, repeated tokens are penalised, and `choose` picks from the rest; the token that
    /// reaches `maxLength` is the end token; generation stops when every row is finished or has `maxLength` tokens.
    ///
    /// Unlike OpenCLIP, which re-runs the whole prefix through both text transformers for every token, each layer keeps
    /// the keys and values of the positions decoded so far, and the decoder's cross-attention keys and values are
    /// computed once per image: a token costs one row of work per layer.
    func generatedCaptions(images: Tensor, limits: CaptionLimits, choose: ([Float]) -> Int) -> [[Int32]] {
        withoutGradients {
            let batch = images.shape[0], vocabulary = config.text.vocabSize
            let imageTokens = imageEncoder.attentionalPooledFeatures(images).tokens
            let crossKeysValues = decoder.crossAttentionBlocks.map { $0.crossAttentionKeysValues(imageTokens) }
            var textCaches: [KeyValueCache] = [], decoderCaches: [KeyValueCache] = []
            var rows = [[Int32]](repeating: [limits.startTokenId], count: batch)
            while rows[0].count < limits.maxLength {
                let length = rows[0].count
                let finished = rows.map { $0.last == limits.endTokenId || $0.last == limits.padTokenId }
                if !finished.contains(false) { break }
                let features = textEncoder.tokenFeatureStep(rows.map { $0.last! }, position: length - 1, caches: &textCaches)
                let logits = decoder.logitsStep(features, caches: &decoderCaches, crossKeysValues: crossKeysValues).values
                for b in 0..<batch {
                    if finished[b] { rows[b].append(limits.padTokenId); continue }
                    if length + 1 == limits.maxLength { rows[b].append(limits.endTokenId); continue }
                    var row = Array(logits[(b * vocabulary)..<((b + 1) * vocabulary)])
                    if length < limits.minLength { row[Int(limits.endTokenId)] = -.infinity }
                    limits.penalizingRepetitions(&row, of: rows[b])
                    rows[b].append(Int32(choose(row)))
                }
            }
            return rows
        }
    }
}

extension MultimodalDecoder {
    /// Logits [B, vocabulary] of the newest position x [B, 1, W], whose earlier positions' keys and values are in `caches`
    /// (one per layer, filled on the first call), attending to image keys | values [I, N, 2W] from
    /// `crossAttentionKeysValues`, where B is a multiple of I: each image's keys and values serve B / I consecutive rows
    /// (a beam search's beams). Those rows attend as the B / I query positions of one sequence: cross-attention has no
    /// mask, so this equals attending one by one, without copying the image's keys and values per row.
    public func logitsStep(_ x: Tensor, caches: inout [KeyValueCache], crossKeysValues: [Tensor]) -> Tensor {
        if caches.isEmpty { caches = Array(repeating: KeyValueCache(), count: selfAttentionBlocks.count) }
        let (batch, width) = (x.shape[0], x.shape[2])
        let images = crossKeysValues.first?.shape[0] ?? batch
        precondition(images > 0 && batch % images == 0, "decoder step: \(batch) rows do not share \(images) images' keys and values")
        var h = x
        for layer in selfAttentionBlocks.indices {
            h = selfAttentionBlocks[layer].step(h, cache: &caches[layer])
            h = crossAttentionBlocks[layer](h.reshaped([images, batch / images, width]), attendingToKeysValues: crossKeysValues[layer])
                .reshaped([batch, 1, width])
        }
        return logits(finalNorm(h)).reshaped([batch, projection.shape[1]])
    }
}
