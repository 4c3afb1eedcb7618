import Foundation

/// The counts BLEU is computed from, for one image or summed over a corpus (pycocoevalcap's `testlen`, `reflen`, `guess`,
/// `correct`).
public struct BLEUCounts: Equatable, Sendable {
    /// Words of the candidate.
    public var candidateLength: Int
    /// One image: the reference length closest to the candidate's (ties: the shorter). A corpus: their sum.
    public var referenceLength: Int
    /// `guess[n - 1]`: the candidate's n-grams, `max(0, words - n + 1)`.
    public var guess: [Int]
    /// `correct[n - 1]`: candidate n-grams matched, each counted at most as often as it occurs in any single reference.
    public var correct: [Int]

    public static let zero = BLEUCounts(candidateLength: 0, referenceLength: 0,
                                        guess: Array(repeating: 0, count: CaptionNGrams.maxOrder),
                                        correct: Array(repeating: 0, count: CaptionNGrams.maxOrder))

    public init(candidateLength: Int, referenceLength: Int, guess: [Int], correct: [Int]) {
        self.candidateLength = candidateLength
        self.referenceLength = referenceLength
        self.guess = guess
        self.correct = correct
    }

    /// The counts of one image: "closest" reference length, clipped matches.
    init(candidate: CaptionNGrams, references: [CaptionNGrams]) {
        let length = candidate.wordCount
        candidateLength = length
        referenceLength = references.map(\.wordCount).min { (abs($0 - length), $0) < (abs($1 - length), $1) } ?? 0
        guess = (1...CaptionNGrams.maxOrder).map { max(0, length - $0 + 1) }
        correct = (0..<CaptionNGrams.maxOrder).map { index in
            candidate.countsByOrder[index].reduce(0) { sum, entry in
                let mostInOneReference = references.map { $0.countsByOrder[index][entry.key] ?? 0 }.max() ?? 0
                return sum + min(entry.value, mostInOneReference)
            }
        }
    }

    /// Corpus counts: every field summed over the images.
    public static func + (a: BLEUCounts, b: BLEUCounts) -> BLEUCounts {
        BLEUCounts(candidateLength: a.candidateLength + b.candidateLength, referenceLength: a.referenceLength + b.referenceLength,
                   guess: zip(a.guess, b.guess).map(+), correct: zip(a.correct, b.correct).map(+))
    }

    /// BLEU-1..4 as pycocoevalcap computes them: the geometric mean of the smoothed precisions times the brevity penalty.
    /// The smoothing constants are the COCO code's: they keep an order without any n-gram from zeroing the score (and
    /// make an exact match's BLEU-1 slightly below 1), and scores equal pycocoevalcap's only with them.
    public var scores: [Double] {
        let matchSmoothing = 1e-15, countSmoothing = 1e-9
        var product = 1.0
        var scores: [Double] = []
        for index in 0..<CaptionNGrams.maxOrder {
            product *= (Double(correct[index]) + matchSmoothing) / (Double(guess[index]) + countSmoothing)
            scores.append(pow(product, 1.0 / Double(index + 1)))
        }
        let ratio = (Double(candidateLength) + matchSmoothing) / (Double(referenceLength) + countSmoothing)
        guard ratio < 1 else { return scores }
        let brevityPenalty = exp(1 - 1 / ratio)
        return scores.map { $0 * brevityPenalty }
    }
}
