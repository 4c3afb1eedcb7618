import TensorCore

/// NegCLIP's word-order hard negatives (Yuksekgonul et al. 2023, "When and why vision-language models behave like
/// bags-of-words"): the caption's own words in another order, so only its composition tells it from the truth.
///
/// Words are the caption's whitespace-separated tokens (punctuation stays with its word). Three perturbations, as in
/// that paper's ARO order tests, each seeded by `seed` and the sample's key (so a caption's negatives never depend on
/// the order of the data): two different words swapped; the word trigrams shuffled; the words inside each trigram
/// shuffled. Up to `count` distinct results are returned, never the caption itself (compared word by word, ignoring
/// case); a caption without two different words has none.
public struct WordOrderPerturbation: Sendable {
    public var seed: UInt64
    public var count: Int

    public init(seed: UInt64 = 0, count: Int = 3) {
        precondition(count > 0, "word-order perturbation: count \(count) must be positive")
        self.seed = seed
        self.count = count
    }

    /// The negatives of `caption`, sample `key`: perturbations in turn (swap, trigrams, within trigrams, again), until
    /// `count` distinct ones or a fixed number of attempts.
    public func negatives(of caption: String, key: String) -> [String] {
        let words = caption.split(whereSeparator: \.isWhitespace).map(String.init)
        let original = words.map { $0.lowercased() }
        guard Set(original).count > 1 else { return [] }
        var random = SplitMix64(mixing: seed, SplitMix64.stableHash(key))
        var results: [String] = [], seen: Set<[String]> = [original]
        for attempt in 0..<(count * 12) where results.count < count {
            let perturbed: [String]
            switch attempt % 3 {
            case 0: perturbed = Self.swapTwoDifferentWords(words, &random)
            case 1: perturbed = Self.shuffleTrigrams(words, &random)
            default: perturbed = Self.shuffleWithinTrigrams(words, &random)
            }
            if seen.insert(perturbed.map { $0.lowercased() }).inserted { results.append(perturbed.joined(separator: " ")) }
        }
        return results
    }

    static func swapTwoDifferentWords(_ words: [String], _ random: inout SplitMix64) -> [String] {
        let i = Int(random.next() % UInt64(words.count))
        let others = words.indices.filter { words[$0].lowercased() != words[i].lowercased() }
        guard !others.isEmpty else { return words }
        var out = words
        out.swapAt(i, others[Int(random.next() % UInt64(others.count))])
        return out
    }

    static func shuffleTrigrams(_ words: [String], _ random: inout SplitMix64) -> [String] {
        var trigrams = stride(from: 0, to: words.count, by: 3).map { Array(words[$0..<min($0 + 3, words.count)]) }
        trigrams.shuffle(using: &random)
        return trigrams.flatMap { $0 }
    }

    static func shuffleWithinTrigrams(_ words: [String], _ random: inout SplitMix64) -> [String] {
        stride(from: 0, to: words.count, by: 3).flatMap { start -> [String] in
            var trigram = Array(words[start..<min(start + 3, words.count)])
            trigram.shuffle(using: &random)
            return trigram
        }
    }
}
