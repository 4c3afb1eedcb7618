import Foundation

/// CIDEr-D as pycocoevalcap's `Cider()` computes it over one corpus: tf-idf vectors of 1- to 4-grams whose document
/// frequencies count the images whose references contain each n-gram, a candidate weight clipped by the reference's, a
/// Gaussian penalty on the length difference (sigma 6), the mean over n and over references, times 10.
struct CIDErD {
    static let lengthPenaltySigma = 6.0
    static let scale = 10.0

    /// `documentFrequency[n - 1][gram]`: images whose references, taken together, contain the n-gram.
    private let documentFrequency: [[String: Int]]
    private let logImageCount: Double

    /// The idf of the corpus whose references are `referencesOfEachImage` (candidates never count).
    init(referencesOfEachImage: [[CaptionNGrams]]) {
        var frequency = [[String: Int]](repeating: [:], count: CaptionNGrams.maxOrder)
        for references in referencesOfEachImage {
            for index in 0..<CaptionNGrams.maxOrder {
                for gram in Set(references.flatMap { $0.countsByOrder[index].keys }) { frequency[index][gram, default: 0] += 1 }
            }
        }
        documentFrequency = frequency
        logImageCount = log(Double(referencesOfEachImage.count))
    }

    /// One image's CIDEr-D and its term for each n (10 × the sum over references of the penalised similarity / the number
    /// of references; their mean is the score).
    func score(candidate: CaptionNGrams, references: [CaptionNGrams]) -> (score: Double, termsByOrder: [Double]) {
        let candidateVector = weights(candidate)
        var sums = [Double](repeating: 0, count: CaptionNGrams.maxOrder)
        for reference in references {
            let similarities = similarity(candidateVector, weights(reference))
            for index in sums.indices { sums[index] += similarities[index] }
        }
        let referenceCount = Double(references.count)
        // pycocoevalcap's order of operations: mean over n, then / references, then × 10.
        let score = sums.reduce(0, +) / Double(sums.count) / referenceCount * Self.scale
        return (score, sums.map { Self.scale * $0 / referenceCount })
    }

    /// One sentence's tf-idf vector per n, their norms, and its length as the COCO code measures it.
    private struct WeightVector {
        var gramsByOrder: [[String]]
        var weights: [[String: Double]]
        var norms: [Double]
        /// The sentence's bigram count (words - 1, 0 for fewer than 2 words): the COCO code counts the length on the
        /// bigram entries, and the published scores depend on it.
        var length: Int
    }

    private func weights(_ sentence: CaptionNGrams) -> WeightVector {
        var vector = WeightVector(gramsByOrder: sentence.gramsByOrder, weights: Array(repeating: [:], count: CaptionNGrams.maxOrder),
                                  norms: Array(repeating: 0, count: CaptionNGrams.maxOrder),
                                  length: sentence.countsByOrder[1].values.reduce(0, +))
        for index in 0..<CaptionNGrams.maxOrder {
            var squares = 0.0
            for gram in sentence.gramsByOrder[index] {
                let termFrequency = sentence.countsByOrder[index][gram]!
                // An n-gram in no reference gets the idf of one document.
                let frequency = Double(max(1, documentFrequency[index][gram] ?? 0))
                let weight = Double(termFrequency) * (logImageCount - log(frequency))
                vector.weights[index][gram] = weight
                squares += weight * weight
            }
            vector.norms[index] = squares.squareRoot()
        }
        return vector
    }

    private func similarity(_ candidate: WeightVector, _ reference: WeightVector) -> [Double] {
        let delta = Double(candidate.length - reference.length)
        let lengthPenalty = exp(-(delta * delta) / (2 * Self.lengthPenaltySigma * Self.lengthPenaltySigma))
        return (0..<CaptionNGrams.maxOrder).map { index in
            var value = 0.0
            for gram in candidate.gramsByOrder[index] {
                let candidateWeight = candidate.weights[index][gram]!, referenceWeight = reference.weights[index][gram] ?? 0
                value += min(candidateWeight, referenceWeight) * referenceWeight
            }
            // A zero vector (no n-gram of this order, or only n-grams every image has) makes the sum 0; dividing would give 0/0.
            if candidate.norms[index] != 0 && reference.norms[index] != 0 { value /= candidate.norms[index] * reference.norms[index] }
            return value * lengthPenalty
        }
    }
}
