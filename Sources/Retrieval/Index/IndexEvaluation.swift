import Foundation
import TensorCore
import TrainingKit

/// Text-to-image retrieval quality of a collection through its index, as the server answers: every caption of the
/// embeddings folder the index was built from is embedded by the model and searched in the index, and the result is
/// scored against the image embedded with it.
///
/// Relevance follows `RetrievalMetrics` (the in-memory evaluation): an image is relevant to a caption when its own
/// caption is the same text, so repeated captions are not counted as misses. `text_to_image_R@k` is the share of
/// captions whose first relevant image is among the first k results, which for the exact (flat) index equals the
/// in-memory `text_to_image_R@k`. `text_to_image_mAP@k` averages over captions AP@k = Σ_{i≤k} P@i·rel_i / min(relevant, k).
/// Relevance is binary (same caption or not), so nDCG, which needs graded relevance, is not computed.
public struct IndexEvaluation {
    /// The cut-off of mAP@k.
    public let k: Int
    /// Captions embedded (and searched) per batch.
    public let batchSize: Int

    public init(k: Int = 10, batchSize: Int = 256) {
        self.k = max(1, k)
        self.batchSize = max(1, batchSize)
    }

    /// The metric names `run` returns.
    public var metricNames: [String] {
        RetrievalMetrics.recallCutoffs.map { "text_to_image_R@\($0)" } + ["text_to_image_mAP@\(k)"]
    }

    /// Embeds the captions of the index's embeddings folder (or `embeddings`) with `model` and scores the index's answers.
    public func run(index: SearchIndex, model: EmbeddingModel, embeddings: String? = nil) throws -> [String: Double] {
        let folder = embeddings ?? index.header.embeddings
        let rows = try EmbeddingMetadataRow.readAll(directory: folder)
        guard rows.count == index.header.count else {
            throw RetrievalError("\(folder): \(rows.count) metadata rows for an index of \(index.header.count) vectors")
        }
        let captions = rows.compactMap(\.caption)
        guard captions.count == rows.count, !captions.isEmpty else {
            throw RetrievalError("\(folder): the collection has no captions (every row needs one to evaluate text-to-image retrieval)")
        }
        guard let input = model.textInput else { throw RetrievalError("the model has no tokenizer, so captions cannot be embedded") }
        let queries = withoutGradients {
            stride(from: 0, to: captions.count, by: batchSize).flatMap { first in
                let tokens = captions[first..<min(first + batchSize, captions.count)].flatMap { input.tokenizer.encode($0, contextLength: input.contextLength) }
                return model.embedTexts(tokens).values
            }
        }
        return metrics(index: index, queries: queries, captions: captions)
    }

    /// The metrics of `queries` (row i: the embedding of `captions[i]`, paired with stored row i) searched in `index`.
    public func metrics(index: SearchIndex, queries: [Float], captions: [String]) -> [String: Double] {
        let dimension = index.header.dimension
        let count = captions.count
        precondition(queries.count == count * dimension && count == index.header.count, "index evaluation: queries do not match the index")
        let groups = RetrievalMetrics.captionGroups(captions)
        var groupSizes = [Int](repeating: 0, count: count)
        for group in groups { groupSizes[group] += 1 }
        let cutoffs = RetrievalMetrics.recallCutoffs
        let depth = min(count, max(k, cutoffs.max()!))
        var recallHits = [Int](repeating: 0, count: cutoffs.count)
        var averagePrecisionSum = 0.0
        for first in stride(from: 0, to: count, by: batchSize) {
            let last = min(first + batchSize, count)
            let answers = index.search(queries: Array(queries[(first * dimension)..<(last * dimension)]), k: depth)
            for (offset, hits) in answers.enumerated() {
                let group = groups[first + offset]
                let relevant = hits.map { groups[$0.id] == group }
                if let position = relevant.firstIndex(of: true) {
                    for (slot, cutoff) in cutoffs.enumerated() where position < cutoff { recallHits[slot] += 1 }
                }
                var found = 0, precisionSum = 0.0
                for (rank, isRelevant) in relevant.prefix(k).enumerated() where isRelevant {
                    found += 1
                    precisionSum += Double(found) / Double(rank + 1)
                }
                averagePrecisionSum += precisionSum / Double(min(groupSizes[group], k))
            }
        }
        var metrics: [String: Double] = [:]
        for (slot, cutoff) in cutoffs.enumerated() { metrics["text_to_image_R@\(cutoff)"] = Double(recallHits[slot]) / Double(count) }
        metrics["text_to_image_mAP@\(k)"] = averagePrecisionSum / Double(count)
        return metrics
    }
}
