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

/// One image's beam search state: its live beams, their summed-logit scores and its finished hypotheses.
struct ImageBeamSearch {
    let beams: Int
    var sequences: [[Int32]]
    var scores: [Float]
    var hypotheses: BeamHypotheses
    var done = false

    init(beams: Int, startTokenId: Int32) {
        self.beams = beams
        sequences = [[Int32]](repeating: [startTokenId], count: beams)
        scores = [Float](repeating: -1e9, count: beams)
        scores[0] = 0
        hypotheses = BeamHypotheses(capacity: beams)
    }

    /// One step from this image's beams' logits, `beams` rows of `vocabulary` in `logits` from row `firstRow`: returns
    /// which beam each new beam extends. The top 2K of (logit + beam score) are ranked by score, then by beam-major
    /// candidate index (a stable sort's order); an end token ranked below K finishes a hypothesis.
    mutating func advance(_ logits: [Float], firstRow: Int, vocabulary: Int, limits: CaptionLimits) -> [Int32] {
        let length = sequences[0].count, end = Int(limits.endTokenId), keep = 2 * beams
        // The best `keep` candidates, best first. A candidate enters only when strictly better than the worst kept, and
        // goes after kept ones of equal score: candidates come in index order, so equal scores stay in index order.
        var top: [(score: Float, beam: Int, token: Int)] = []
        top.reserveCapacity(keep + 1)
        for beam in 0..<beams {
            let start = (firstRow + beam) * vocabulary
            var row = Array(logits[start..<(start + vocabulary)])
            if length < limits.minLength { row[end] = -.infinity }
            limits.penalizingRepetitions(&row, of: sequences[beam])
            let base = scores[beam]
            for token in 0..<vocabulary {
                let score = row[token] + base
                if top.count == keep && !(score > top[keep - 1].score) { continue }
                var position = top.count
                while position > 0 && top[position - 1].score < score { position -= 1 }
                top.insert((score, beam, token), at: position)
                if top.count > keep { top.removeLast() }
            }
        }
        var next: [(score: Float, beam: Int, token: Int)] = []
        for (rank, candidate) in top.enumerated() {
            if candidate.token == end {
                if rank < beams { hypotheses.add(sequences[candidate.beam], score: candidate.score / normaliser(length + 1, limits)) }
            } else {
                next.append(candidate)
            }
            if next.count == beams { break }
        }
        done = hypotheses.isDone(bestScore: top[0].score, length: length + 1, lengthPenalty: limits.lengthPenalty)
        sequences = next.map { sequences[$0.beam] + [Int32($0.token)] }
        scores = next.map(\.score)
        return next.map { Int32($0.beam) }
    }

    /// At the length limit, every live beam of an unfinished search becomes a hypothesis (no end token); the best one.
    mutating func finish(limits: CaptionLimits) -> ScoredCaption {
        if !done {
            for (sequence, score) in zip(sequences, scores) { hypotheses.add(sequence, score: score / normaliser(sequence.count, limits)) }
        }
        return hypotheses.best
    }

    func normaliser(_ length: Int, _ limits: CaptionLimits) -> Float {
        BeamHypotheses.normaliser(length: length, lengthPenalty: limits.lengthPenalty)
    }
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
    /// `beams / beamGroups` beams, so one such search is run.
    public func beamSearchCaptions(images: Tensor, limits: CaptionLimits, beams: Int, beamGroups: Int = 1) -> [ScoredCaption] {
        precondition(beams > 0 && beamGroups > 0 && beams % beamGroups == 0, "beam search: \(beams) beams in \(beamGroups) groups")
        let best = withoutGradients { beamSearch(images: images, limits: limits, beams: beams / beamGroups) }
        let width = min(best.map(\.tokens.count).max()! + 1, limits.maxLength)
        return best.map { caption in
            var tokens = caption.tokens
            if tokens.count < width { tokens.append(limits.endTokenId) }
            return ScoredCaption(tokens: tokens + [Int32](repeating: limits.padTokenId, count: width - tokens.count), score: caption.score)
        }
    }

    /// The best hypothesis of each image with `beams` beams. All unfinished images' beams run as one batch per step
    /// (image-major, images x beams rows), so each step's products are large; an image's cross-attention keys and
    /// values are computed once and read by all its beams; after each step the cached keys and values are reordered to
    /// the surviving beams, and a finished image's rows leave the batch.
    private func beamSearch(images: Tensor, limits: CaptionLimits, beams: Int) -> [ScoredCaption] {
        let vocabulary = config.text.vocabSize
        let tokens = imageEncoder.attentionalPooledFeatures(images).tokens
        var crossKeysValues = decoder.crossAttentionBlocks.map { $0.crossAttentionKeysValues(tokens) }
        var searches = (0..<images.shape[0]).map { _ in ImageBeamSearch(beams: beams, startTokenId: limits.startTokenId) }
        var live = Array(searches.indices)
        var textCaches: [KeyValueCache] = [], decoderCaches: [KeyValueCache] = []
        var length = 1
        while !live.isEmpty && length < limits.maxLength {
            let lastTokens = live.flatMap { searches[$0].sequences.map { $0.last! } }
            let features = textEncoder.tokenFeatureStep(lastTokens, position: length - 1, caches: &textCaches)
            let logits = decoder.logitsStep(features, caches: &decoderCaches, crossKeysValues: crossKeysValues).values
            var survivors: [Int32] = [], stillLive: [Int] = [], liveBlocks: [Int32] = []
            for (block, image) in live.enumerated() {
                let extended = searches[image].advance(logits, firstRow: block * beams, vocabulary: vocabulary, limits: limits)
                guard !searches[image].done else { continue }
                survivors += extended.map { Int32(block * beams) + $0 }
                stillLive.append(image)
                liveBlocks.append(Int32(block))
            }
            length += 1
            if stillLive.isEmpty { break }
            if stillLive.count < live.count {
                crossKeysValues = crossKeysValues.map { $0.selectingBatchRows(liveBlocks) }
            }
            for i in textCaches.indices { textCaches[i].selectRows(survivors) }
            for i in decoderCaches.indices { decoderCaches[i].selectRows(survivors) }
            live = stillLive
        }
        return searches.indices.map { searches[$0].finish(limits: limits) }
    }
}
