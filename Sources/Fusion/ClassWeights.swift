import TensorCore
import TrainingKit

/// `--class-weights`: the cross-entropy of sample i weighs w[y_i], and the mean divides by Σ w[y_i] (PyTorch's
/// `CrossEntropyLoss(weight=...)`), so rare classes can count more.
public struct ClassWeights: Equatable, Sendable {
    public let values: [Float]

    public init(values: [Float]) { self.values = values }

    /// Comma-separated non-negative numbers, one per class; "" (the default) means none.
    public static func parse(_ text: String, classes: Int) throws -> ClassWeights? {
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        let values = text.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard values.allSatisfy({ $0.map { $0 >= 0 && $0.isFinite } ?? false }), values.count == classes else {
            throw TrainingError("--class-weights \(text): give \(classes) non-negative numbers, one per class of --num-classes")
        }
        return ClassWeights(values: values.map { $0! })
    }

    /// The weighted mean cross-entropy of `logits` `[B, classes]` against `labels`.
    public func crossEntropy(_ logits: Tensor, labels: [Int32]) -> Tensor {
        let classes = values.count
        var picked = [Float](repeating: 0, count: labels.count * classes)
        var total: Float = 0
        for (row, label) in labels.enumerated() {
            picked[row * classes + Int(label)] = values[Int(label)]
            total += values[Int(label)]
        }
        // A batch holding only zero-weight classes contributes nothing rather than 0/0.
        let scale = total > 0 ? -1 / total : 0
        return (logits.logSoftmax() * Tensor(shape: [labels.count, classes], values: picked)).sum().scaled(by: scale)
    }
}
