import TensorCore

/// Multi-label training (`--multi-label`): each sample's classes come as a row of the `labels` field (class indices,
/// padded with -1 to the batch's longest set) and the loss is the sigmoid binary cross-entropy of every (sample, class)
/// logit, averaged over all of them (PyTorch's `BCEWithLogitsLoss`, with `--class-weights` as its `weight=`).
public enum MultiLabelLoss {
    /// Row-major `[samples, classes]` of 1 for each class a sample has; padding (-1) is skipped.
    public static func multiHot(_ rows: [Int32], samples: Int, classes: Int) -> [Float] {
        var hot = [Float](repeating: 0, count: samples * classes)
        let width = samples == 0 ? 0 : rows.count / samples
        for (i, label) in rows.enumerated() where label >= 0 { hot[(i / width) * classes + Int(label)] = 1 }
        return hot
    }

    /// mean over samples and classes of w_c · −[y log σ(x) + (1 − y) log σ(−x)], log σ computed without overflow.
    public static func binaryCrossEntropy(_ logits: Tensor, targets: [Float], classWeights: [Float]? = nil) -> Tensor {
        let shape = logits.shape, classes = shape[1]
        let positive = Tensor(shape: shape, values: targets)
        let negative = Tensor(shape: shape, values: targets.map { 1 - $0 })
        var terms = logits.logSigmoid() * positive + logits.scaled(by: -1).logSigmoid() * negative
        if let classWeights {
            terms = terms * Tensor(shape: shape, values: (0..<targets.count).map { classWeights[$0 % classes] })
        }
        return terms.sum().scaled(by: -1 / Float(max(targets.count, 1)))
    }
}
