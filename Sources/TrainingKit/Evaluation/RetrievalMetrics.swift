import Foundation
import TensorCore

/// Image-text retrieval metrics and validation loss over a whole validation set, named as OpenCLIP names them.
///
/// Matches OpenCLIP's `get_clip_metrics` (src/open_clip_train/train.py): for each query the true pair's 0-based
/// position `p` in the candidates sorted by descending similarity gives `R@k = mean(p < k)`,
/// `mean_rank = mean(p) + 1` and `median_rank = floor(median(p)) + 1` (numpy's median: the mean of the two middle
/// values for an even count). Equal similarities are ordered by index, as a stable sort would order them
/// (PyTorch's default `argsort` leaves the order of ties unspecified).
///
/// Similarities are computed with BLAS in blocks of `rowsPerTile` query rows, so memory is O(rowsPerTile × N),
/// never O(N²).
public enum RetrievalMetrics {
    /// The retrieval cut-offs OpenCLIP reports.
    public static let recallCutoffs = [1, 5, 10]

    /// The names `compute` returns: `image_to_text_R@1` ... `text_to_image_median_rank`, then `clip_val_loss`.
    public static let metricNames = ["image_to_text", "text_to_image"].flatMap { direction in
        (recallCutoffs.map { "R@\($0)" } + ["mean_rank", "median_rank"]).map { "\(direction)_\($0)" }
    } + ["clip_val_loss"]

    /// Every metric for `count` image/text pairs whose row `i` of each feature matrix belongs together.
    ///
    /// - Parameters:
    ///   - imageFeatures, textFeatures: row-major [count, dim], L2-normalised.
    ///   - logitScale: the logit multiplier exp(logit_scale) (OpenCLIP's model output), used by the loss only;
    ///     ranks do not depend on it.
    ///   - captions: each pair's caption text. When given, a retrieval is a hit as soon as the retrieved candidate
    ///     has the true caption text: an image retrieving another image's identical caption, or a caption
    ///     retrieving an image whose own caption is the same text. Repeated captions are false negatives of the
    ///     contrastive objective, and without this rule they would count as misses.
    ///   - lossBatchSize: `clip_val_loss` is OpenCLIP's: the symmetric cross-entropy of each validation batch
    ///     against itself (labels = arange(batch)), averaged over samples; pass the validation batch size to get
    ///     its exact value. nil treats the whole set as one batch (the N × N loss).
    ///   - rowsPerTile: query rows per similarity block.
    /// - Returns: `image_to_text_R@1`, `_R@5`, `_R@10`, `_mean_rank`, `_median_rank`, the same for `text_to_image_`,
    ///   and `clip_val_loss`.
    public static func compute(imageFeatures: [Float], textFeatures: [Float], count: Int, dim: Int, logitScale: Float,
                               captions: [String]? = nil, lossBatchSize: Int? = nil, rowsPerTile: Int = 256) -> [String: Double] {
        precondition(count > 0 && dim > 0, "retrieval metrics: need at least one pair and a positive dimension")
        precondition(imageFeatures.count == count * dim && textFeatures.count == count * dim,
                     "retrieval metrics: features of \(imageFeatures.count) and \(textFeatures.count) values for \(count) × \(dim)")
        precondition(captions == nil || captions!.count == count, "retrieval metrics: \(captions!.count) captions for \(count) pairs")
        let groups = captions.map(captionGroups)
        let block = lossBatchSize.map { max(1, $0) } ?? count

        let imageToText = rank(queries: imageFeatures, candidates: textFeatures, count: count, dim: dim, scale: logitScale,
                               groups: groups, lossBlock: block, rowsPerTile: rowsPerTile)
        let textToImage = rank(queries: textFeatures, candidates: imageFeatures, count: count, dim: dim, scale: logitScale,
                               groups: groups, lossBlock: block, rowsPerTile: rowsPerTile)
        var metrics: [String: Double] = [:]
        for (name, result) in [("image_to_text", imageToText), ("text_to_image", textToImage)] {
            for (key, value) in summary(positions: result.positions) { metrics["\(name)_\(key)"] = value }
        }
        // Per-row CE summed over both directions, halved: the mean over samples of each batch's symmetric loss.
        metrics["clip_val_loss"] = (imageToText.crossEntropySum + textToImage.crossEntropySum) / 2 / Double(count)
        return metrics
    }

    /// R@k, mean and median rank of 0-based positions, by OpenCLIP's formulas.
    public static func summary(positions: [Int]) -> [String: Double] {
        precondition(!positions.isEmpty, "retrieval metrics: no positions")
        var metrics: [String: Double] = [:]
        let n = Double(positions.count)
        for k in recallCutoffs { metrics["R@\(k)"] = Double(positions.lazy.filter { $0 < k }.count) / n }
        metrics["mean_rank"] = Double(positions.reduce(0, +)) / n + 1
        let sorted = positions.sorted()
        let middle = sorted.count / 2
        let median = sorted.count % 2 == 1 ? Double(sorted[middle]) : Double(sorted[middle - 1] + sorted[middle]) / 2
        metrics["median_rank"] = median.rounded(.down) + 1
        return metrics
    }

    /// Caption text → group id, so that equal captions share one id.
    public static func captionGroups(_ captions: [String]) -> [Int] {
        var ids: [String: Int] = [:]
        return captions.map { caption in
            if let id = ids[caption] { return id }
            ids[caption] = ids.count
            return ids.count - 1
        }
    }

    struct Ranking {
        var positions: [Int]
        var crossEntropySum: Double
    }

    /// For each query row i, the 0-based position of its first hit among all candidates, and CE(row i, label i)
    /// over its loss block's candidates.
    ///
    /// The first hit under a stable descending sort is the hit with the highest similarity (lowest index on ties);
    /// its position is the number of candidates sorted before it.
    static func rank(queries: [Float], candidates: [Float], count: Int, dim: Int, scale: Float, groups: [Int]?,
                     lossBlock: Int, rowsPerTile: Int) -> Ranking {
        let tileRows = max(1, min(rowsPerTile, count))
        var positions = [Int](repeating: 0, count: count)
        var crossEntropySum = 0.0
        var logits = [Float](repeating: 0, count: tileRows * count)
        queries.withUnsafeBufferPointer { q in
            candidates.withUnsafeBufferPointer { c in
                logits.withUnsafeMutableBufferPointer { l in
                    var start = 0
                    while start < count {
                        let rows = min(tileRows, count - start)
                        BLAS.gemm(transposeA: false, transposeB: true, m: rows, n: count, k: dim, alpha: scale,
                                  a: q.baseAddress! + start * dim, lda: dim, b: c.baseAddress!, ldb: dim,
                                  c: l.baseAddress!, ldc: count)
                        for r in 0..<rows {
                            let i = start + r
                            let row = UnsafeBufferPointer(rebasing: l[(r * count)..<((r + 1) * count)])
                            positions[i] = firstHitPosition(row: row, query: i, groups: groups)
                            let blockStart = (i / lossBlock) * lossBlock
                            let blockEnd = min(blockStart + lossBlock, count)
                            crossEntropySum += crossEntropy(row: UnsafeBufferPointer(rebasing: row[blockStart..<blockEnd]),
                                                            label: i - blockStart)
                        }
                        start += rows
                    }
                }
            }
        }
        return Ranking(positions: positions, crossEntropySum: crossEntropySum)
    }

    /// Position of the best-scoring hit: candidates strictly above it, plus equal ones with a lower index.
    static func firstHitPosition(row: UnsafeBufferPointer<Float>, query: Int, groups: [Int]?) -> Int {
        var best = query
        if let groups {
            let group = groups[query]
            for j in 0..<row.count where groups[j] == group && row[j] > row[best] { best = j }
            // Ties: the lowest-index hit among the best-scoring ones.
            for j in 0..<best where groups[j] == group && row[j] == row[best] { best = j; break }
        }
        let value = row[best]
        // A NaN similarity would compare false with everything and look like a perfect hit.
        if value.isNaN { return row.count - 1 }
        var position = 0
        for j in 0..<row.count where row[j] > value || (row[j] == value && j < best) { position += 1 }
        return position
    }

    /// −log softmax(row)[label], in double precision.
    static func crossEntropy(row: UnsafeBufferPointer<Float>, label: Int) -> Double {
        var maximum = -Float.infinity
        for v in row where v > maximum { maximum = v }
        var sum = 0.0
        for v in row { sum += Foundation.exp(Double(v - maximum)) }
        return Foundation.log(sum) + Double(maximum) - Double(row[label])
    }
}
