import Foundation
import NN
import TensorCore

/// A finished caption of a beam search and its score.
public struct ScoredCaption: Equatable, Sendable {
    public var tokens: [Int32]
    public var score: Float
}

/// The finished hypotheses of one image's beam search, as transformers' `BeamHypotheses` keeps them: at most `capacity`,
/// the worst dropped when a better one comes.
struct BeamHypotheses {
    let capacity: Int
    var entries: [ScoredCaption] = []
    var worstScore: Float = 1e9

    mutating func add(_ tokens: [Int32], score: Float) {
        guard entries.count < capacity || score > worstScore else { return }
        entries.append(ScoredCaption(tokens: tokens, score: score))
        if entries.count > capacity {
            let ranked = entries.indices.sorted { (entries[$0].score, $0) < (entries[$1].score, $1) }
            worstScore = entries[ranked[1]].score
            entries.remove(at: ranked[0])
        } else {
            worstScore = min(score, worstScore)
        }
    }

    /// Whether no live beam can beat the kept hypotheses: `bestScore` (the best candidate's summed logits) over
    /// `length` is no better than the worst kept.
    func isDone(bestScore: Float, length: Int, lengthPenalty: Float) -> Bool {
        entries.count >= capacity && worstScore >= bestScore / Self.normaliser(length: length, lengthPenalty: lengthPenalty)
    }

    /// What a summed score is divided by: length ** length_penalty, as transformers (the plain length for OpenCLIP's 1).
    static func normaliser(length: Int, lengthPenalty: Float) -> Float {
        lengthPenalty == 1 ? Float(length) : Float(Foundation.pow(Double(length), Double(lengthPenalty)))
    }

    /// The best hypothesis (the last of equal scores, as Python's stable sort and pop pick it).
    var best: ScoredCaption { entries.indices.max { (entries[$0].score, $0) < (entries[$1].score, $1) }.map { entries[$0] }! }
}

extension CoCaModel {
    /// Beam-search captions of images [B, 3, H, W], as OpenCLIP's `generate(generation_type="beam_search")` with
    /// transformers' `BeamSearchScorer`: a beam's score is the sum of its tokens' raw logits (no log-softmax); each step
    /// ranks the top 2K of (logit + beam score); an end token ranked below K finishes a hypothesis scored by its sum over
    /// its length (start and end tokens included), other end tokens are skipped, the rest fill the K beams in rank order;
    /// an image is done when K hypotheses exist and none of its candidates could beat the worst; at `maxLength` every
    /// live beam becomes a hypothesis (sum over length, no end token). Each caption is the best hypothesis, followed by the
    /// end token when shorter than the batch's longest + 1 (capped at `maxLength`), padded to that width.
    ///
    /// `beamGroups` groups without a diversity penalty (OpenCLIP's default) run identical searches of
    /// `beams / beamGroups` beams, so one such search is run. Keys and values are cached per layer and reordered with
    /// the beams; each image is searched on its own (images do not interact).
    public func beamSearchCaptions(images: Tensor, limits: CaptionLimits, beams: Int, beamGroups: Int = 1) -> [ScoredCaption] {
        precondition(beams > 0 && beamGroups > 0 && beams % beamGroups == 0, "beam search: \(beams) beams in \(beamGroups) groups")
        let best = (0..<images.shape[0]).map { image in
            withoutGradients { beamSearch(image: images.slice(axis: 0, image..<(image + 1)), limits: limits, beams: beams / beamGroups) }
        }
        let width = min(best.map(\.tokens.count).max()! + 1, limits.maxLength)
        return best.map { caption in
            var tokens = caption.tokens
            if tokens.count < width { tokens.append(limits.endTokenId) }
            return ScoredCaption(tokens: tokens + [Int32](repeating: limits.padTokenId, count: width - tokens.count), score: caption.score)
        }
    }

    /// The best hypothesis of one image [1, 3, H, W] with `beams` beams.
    private func beamSearch(image: Tensor, limits: CaptionLimits, beams: Int) -> ScoredCaption {
        let vocabulary = config.text.vocabSize, end = Int(limits.endTokenId)
        let tokens = imageEncoder.attentionalPooledFeatures(image).tokens
        let repeated = Tensor.concatenate([Tensor](repeating: tokens, count: beams), axis: 0)
        let crossKeysValues = decoder.crossAttentionBlocks.map { $0.crossAttentionKeysValues(repeated) }
        var textCaches: [KeyValueCache] = [], decoderCaches: [KeyValueCache] = []
        var sequences = [[Int32]](repeating: [limits.startTokenId], count: beams)
        var scores = [Float](repeating: -1e9, count: beams)
        scores[0] = 0
        var hypotheses = BeamHypotheses(capacity: beams)
        func normaliser(_ length: Int) -> Float { BeamHypotheses.normaliser(length: length, lengthPenalty: limits.lengthPenalty) }
        var done = false
        while !done && sequences[0].count < limits.maxLength {
            let length = sequences[0].count
            let features = textEncoder.tokenFeatureStep(sequences.map { $0.last! }, position: length - 1, caches: &textCaches)
            let logits = decoder.logitsStep(features, caches: &decoderCaches, crossKeysValues: crossKeysValues).values
            var candidates: [(score: Float, beam: Int, token: Int)] = []
            candidates.reserveCapacity(beams * vocabulary)
            for beam in 0..<beams {
                var row = Array(logits[(beam * vocabulary)..<((beam + 1) * vocabulary)])
                if length < limits.minLength { row[end] = -.infinity }
                limits.penalizingRepetitions(&row, of: sequences[beam])
                for token in 0..<vocabulary { candidates.append((row[token] + scores[beam], beam, token)) }
            }
            let top = candidates.indices.sorted { (candidates[$0].score, -$0) > (candidates[$1].score, -$1) }.prefix(2 * beams)
                .map { candidates[$0] }
            var next: [(score: Float, beam: Int, token: Int)] = []
            for (rank, candidate) in top.enumerated() {
                if candidate.token == end {
                    if rank < beams { hypotheses.add(sequences[candidate.beam], score: candidate.score / normaliser(length + 1)) }
                } else {
                    next.append(candidate)
                }
                if next.count == beams { break }
            }
            done = hypotheses.isDone(bestScore: top[0].score, length: length + 1, lengthPenalty: limits.lengthPenalty)
            sequences = next.map { sequences[$0.beam] + [Int32($0.token)] }
            scores = next.map(\.score)
            let survivors = next.map { Int32($0.beam) }
            for i in textCaches.indices { textCaches[i].selectRows(survivors) }
            for i in decoderCaches.indices { decoderCaches[i].selectRows(survivors) }
        }
        if !done {
            for (sequence, score) in zip(sequences, scores) { hypotheses.add(sequence, score: score / normaliser(sequence.count)) }
        }
        return hypotheses.best
    }
}
