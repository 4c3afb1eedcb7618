/// Single-label classification metrics from logits and true classes: accuracy, top-5, macro-F1 and the confusion matrix.
public struct ClassificationMetrics: Equatable {
    /// `confusion[true][predicted]`: sample counts.
    public let confusion: [[Int]]
    /// Share of samples whose true class is among the 5 highest logits (all of them when there are fewer classes).
    public let top5: Double

    /// `logits` row-major `[labels.count, classes]`; the prediction is the first largest logit.
    public init(logits: [Float], labels: [Int], classes: Int) {
        precondition(logits.count == labels.count * classes, "metrics: \(logits.count) logits for \(labels.count) samples × \(classes) classes")
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        var inTop5 = 0
        for (row, label) in labels.enumerated() {
            let scores = logits[(row * classes)..<((row + 1) * classes)]
            let predicted = scores.indices.max { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 > $1) }! - row * classes
            confusion[label][predicted] += 1
            // A logit tied with the true class does not push it out: only strictly larger ones count.
            let rank = scores.filter { $0 > scores[row * classes + label] }.count
            if rank < 5 { inTop5 += 1 }
        }
        self.confusion = confusion
        top5 = labels.isEmpty ? 0 : Double(inTop5) / Double(labels.count)
    }

    public var samples: Int { confusion.reduce(0) { $0 + $1.reduce(0, +) } }

    public var accuracy: Double {
        samples == 0 ? 0 : Double(confusion.indices.reduce(0) { $0 + confusion[$1][$1] }) / Double(samples)
    }

    /// The unweighted mean over classes of F1 = 2·TP / (2·TP + FP + FN); a class never true nor predicted scores 0 (as
    /// scikit-learn's `f1_score(average="macro")` with its default `zero_division`).
    public var macroF1: Double {
        let classes = confusion.count
        guard classes > 0 else { return 0 }
        var sum = 0.0
        for c in 0..<classes {
            let truePositives = confusion[c][c]
            let falseNegatives = confusion[c].reduce(0, +) - truePositives
            let falsePositives = (0..<classes).reduce(0) { $0 + confusion[$1][c] } - truePositives
            let denominator = 2 * truePositives + falsePositives + falseNegatives
            sum += denominator == 0 ? 0 : Double(2 * truePositives) / Double(denominator)
        }
        return sum / Double(classes)
    }

    /// `val_accuracy`, `val_top5`, `val_macro_f1`, each with `suffix` (e.g. `_without_text`).
    public func named(suffix: String = "") -> [String: Double] {
        ["val_accuracy\(suffix)": accuracy, "val_top5\(suffix)": top5, "val_macro_f1\(suffix)": macroF1]
    }
}
