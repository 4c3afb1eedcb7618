import Foundation
import TensorCore

/// How a sampled caption draws each token, as OpenCLIP's `generate(generation_type="top_k" | "top_p")`: the logits (after
/// the min-length ban and the repetition penalty) are filtered by transformers' `TopKLogitsWarper` or `TopPLogitsWarper`,
/// divided by the temperature, soft-maxed, and one token is drawn. Draws come from one generator seeded with `seed`, rows
/// in order, so a seed always gives the same captions.
public struct CaptionSampling: Sendable, Equatable {
    public enum Filter: Sendable, Equatable {
        /// Keep the k largest logits (and any equal to the k-th).
        case topK(Int)
        /// Keep the smallest set of largest logits whose probabilities sum to more than p (at least one).
        case topP(Double)
    }

    public var filter: Filter
    public var temperature: Float
    public var seed: UInt64

    public init(filter: Filter, temperature: Float = 1, seed: UInt64 = 0) {
        self.filter = filter
        self.temperature = temperature
        self.seed = seed
    }

    /// `logits` with the tokens the filter removes set to -infinity.
    public func filtered(_ logits: [Float]) -> [Float] {
        var kept = logits
        switch filter {
        case .topK(let k):
            guard k < logits.count else { return kept }
            let threshold = logits.sorted(by: >)[max(k, 1) - 1]
            for i in kept.indices where kept[i] < threshold { kept[i] = -.infinity }
        case .topP(let p):
            // transformers: ascending order, cumulative probabilities; a token goes when the mass below it (it included)
            // is at most 1 - p; the most likely token always stays.
            let ascending = logits.indices.sorted { (logits[$0], $0) < (logits[$1], $1) }
            let probabilities = Self.softmax(ascending.map { logits[$0] })
            var cumulative = 0.0
            for (rank, index) in ascending.enumerated().dropLast() {
                cumulative += probabilities[rank]
                if cumulative <= 1 - p { kept[index] = -.infinity }
            }
        }
        return kept
    }

    /// One token drawn from softmax(filtered logits / temperature).
    public func draw(_ logits: [Float], rng: inout SplitMix64) -> Int {
        let probabilities = Self.softmax(filtered(logits).map { $0 / temperature })
        let u = rng.nextUnit()
        var cumulative = 0.0
        var last = 0
        for (token, probability) in probabilities.enumerated() where probability > 0 {
            cumulative += probability
            last = token
            if u < cumulative { return token }
        }
        return last
    }

    static func softmax(_ values: [Float]) -> [Double] {
        let maximum = Double(values.max() ?? 0)
        let exponentials = values.map { Foundation.exp(Double($0) - maximum) }
        let sum = exponentials.reduce(0, +)
        return exponentials.map { $0 / sum }
    }
}

extension CaptionLimits {
    /// transformers' `RepetitionPenaltyLogitsProcessor`: the logit of every token already in `sequence` (start token
    /// included) is divided by the penalty when positive and multiplied by it when negative; 1 changes nothing.
    func penalizingRepetitions(_ logits: inout [Float], of sequence: [Int32]) {
        guard repetitionPenalty != 1 else { return }
        for token in Set(sequence) where Int(token) < logits.count {
            let logit = logits[Int(token)]
            logits[Int(token)] = logit < 0 ? logit * repetitionPenalty : logit / repetitionPenalty
        }
    }
}
