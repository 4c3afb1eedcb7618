import CaptionMetrics

/// Two captioners without a decoder, scored by the same code as the model's captions so a trained captioner can be
/// judged against them: the most frequent training caption for every image, and the caption of the nearest training
/// image by the model's own contrastive image embedding (cosine similarity of the L2-normalised latents).
public enum CaptionBaselines {
    /// BLEU-4 and CIDEr-D of each baseline, named like the model's own (`val_bleu4`, `val_cider`) with the baseline after.
    public static let metricNames = ["frequent", "nearest"].flatMap { ["val_bleu4_baseline_\($0)", "val_cider_baseline_\($0)"] }

    /// The caption that occurs most often; among equally frequent ones (every one, when captions are unique) the one whose
    /// normalised words are the most frequent in the training captions on average, then the first in sort order, so the
    /// baseline is the strongest constant caption of this kind rather than an arbitrary one.
    public static func mostFrequent(_ captions: [String]) -> String? {
        var counts: [String: Int] = [:], wordCounts: [String: Int] = [:]
        for caption in captions {
            counts[caption, default: 0] += 1
            for word in CaptionNormalization.words(caption) { wordCounts[word, default: 0] += 1 }
        }
        func meanWordCount(_ caption: String) -> Double {
            let words = CaptionNormalization.words(caption)
            return words.isEmpty ? 0 : Double(words.reduce(0) { $0 + wordCounts[$1]! }) / Double(words.count)
        }
        let top = counts.values.max() ?? 0
        return counts.filter { $0.value == top }.keys.map { ($0, meanWordCount($0)) }
            .min { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }?.0
    }

    /// For each query row of `queries` [n, dim], the index of the most similar row of `keys` [m, dim] by dot product (the
    /// first of equal ones).
    public static func nearest(queries: [Float], keys: [Float], dim: Int) -> [Int] {
        let keyCount = keys.count / dim
        return (0..<(queries.count / dim)).map { q in
            var best = 0, bestScore = -Float.infinity
            for k in 0..<keyCount {
                var score: Float = 0
                for d in 0..<dim { score += queries[q * dim + d] * keys[k * dim + d] }
                if score > bestScore { (best, bestScore) = (k, score) }
            }
            return best
        }
    }

    /// BLEU-4 and CIDEr-D of both baselines on `examples` (the model's references; candidates replaced), given the
    /// training captions and the index of each example's nearest training image.
    static func scores(_ examples: [CaptionExample], trainingCaptions: [String], nearest: [Int]) throws -> [String: Double] {
        guard let frequent = mostFrequent(trainingCaptions) else { return [:] }
        let frequentScores = try CaptionMetrics.score(examples.map { CaptionExample(id: $0.id, references: $0.references, candidate: frequent) })
        let nearestScores = try CaptionMetrics.score(zip(examples, nearest).map {
            CaptionExample(id: $0.id, references: $0.references, candidate: trainingCaptions[$1])
        })
        return Dictionary(uniqueKeysWithValues: zip(metricNames, [frequentScores.bleu4, frequentScores.cider, nearestScores.bleu4, nearestScores.cider]))
    }
}
