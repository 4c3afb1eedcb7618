import TensorCore

/// A language-model head's loss without its logits: rows of `features` [N, W] projected by `projection` [W, V] and
/// scored by cross-entropy against `labels` (one per row), as the token mean over the rows whose label is not
/// `ignoredLabel` (PyTorch's `ignore_index`).
///
/// The kept rows are projected a chunk of at most `chunkElements / V` rows at a time and each chunk is recomputed in
/// backward instead of kept, so [N, V] logits (or probabilities) never exist at once: one chunk's at a time, in forward
/// and in backward. Returns nil when every label is ignored (the mean is undefined).
public func chunkedCrossEntropy(features: Tensor, projection: Parameter, labels: [Int32], ignoredLabel: Int32,
                                chunkElements: Int = 1 << 22) -> (loss: Tensor, targets: Int)? {
    precondition(features.rank == 2 && features.shape[0] == labels.count && projection.shape.count == 2
                 && projection.shape[0] == features.shape[1],
                 "chunked cross-entropy: features \(features.shape), projection \(projection.shape), \(labels.count) labels")
    let kept = labels.indices.filter { labels[$0] != ignoredLabel }
    guard !kept.isEmpty else { return nil }
    let rows = features.gatherRows(kept.map { Int32($0) }), targets = kept.map { labels[$0] }
    let chunkRows = max(1, chunkElements / projection.shape[1])
    var total: Tensor?
    for start in stride(from: 0, to: kept.count, by: chunkRows) {
        let range = start..<min(start + chunkRows, kept.count)
        // Each chunk's mean, weighted by its share of the targets: the sum is the mean over all of them.
        let share = Float(range.count) / Float(kept.count), chunkTargets = Array(targets[range])
        let part = recomputedInBackward([rows.slice(axis: 0, range)], parameters: [projection], name: "chunkedCrossEntropy") {
            Tensor.matmul($0[0], projection.tensor).crossEntropy(labels: chunkTargets).scaled(by: share)
        }
        total = total.map { $0 + part } ?? part
    }
    return (total!, kept.count)
}
