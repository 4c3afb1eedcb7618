import Foundation

/// Multi-label classification metrics from per-class logits and true label sets, as scikit-learn defines them:
/// average precision is the step-wise area Σ_k (R_k − R_{k−1}) P_k over the distinct scores in decreasing order
/// (`average_precision_score`, not interpolated), macro mAP its mean over classes, micro mAP the AP of every
/// (sample, class) pair pooled; macro-F1 is taken at the one threshold on the probabilities that maximises it on this set.
public struct MultiLabelMetrics: Equatable {
    /// Per-class AP; nil for a class with no positive sample, which is left out of the macro mean (scikit-learn scores
    /// such a class 0 with a warning, which would only measure the validation set's gaps).
    public let averagePrecisions: [Double?]
    public let microAP: Double
    /// The probability threshold (sigmoid of the logit) at and above which a class is predicted, and the macro-F1 there.
    public let threshold: Double
    public let macroF1: Double

    /// `logits` and `targets` row-major `[samples, classes]`; a target is 1 for a class the sample has.
    public init(logits: [Float], targets: [Float], classes: Int) {
        precondition(logits.count == targets.count && classes > 0 && logits.count % classes == 0,
                     "metrics: \(logits.count) logits and \(targets.count) targets for \(classes) classes")
        let samples = logits.count / classes
        let positives = targets.map { $0 > 0.5 }
        averagePrecisions = (0..<classes).map { c in
            Self.averagePrecision(scores: (0..<samples).map { logits[$0 * classes + c] },
                                  positives: (0..<samples).map { positives[$0 * classes + c] })
        }
        microAP = Self.averagePrecision(scores: logits, positives: positives) ?? 0
        (threshold, macroF1) = Self.bestMacroF1(logits: logits, positives: positives, classes: classes)
    }

    /// The mean AP over the classes that have a positive sample (0 when none has).
    public var macroAP: Double {
        let present = averagePrecisions.compactMap { $0 }
        return present.isEmpty ? 0 : present.reduce(0, +) / Double(present.count)
    }

    /// scikit-learn's `average_precision_score` of one binary problem; nil without a positive.
    public static func averagePrecision(scores: [Float], positives: [Bool]) -> Double? {
        let total = positives.filter { $0 }.count
        guard total > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var truePositives = 0, seen = 0, area = 0.0, previousRecall = 0.0
        var k = 0
        while k < order.count {
            // Tied scores form one threshold: all of them enter together.
            let score = scores[order[k]]
            while k < order.count && scores[order[k]] == score {
                if positives[order[k]] { truePositives += 1 }
                seen += 1
                k += 1
            }
            let recall = Double(truePositives) / Double(total)
            area += (recall - previousRecall) * Double(truePositives) / Double(seen)
            previousRecall = recall
        }
        return area
    }

    /// The global threshold maximising macro-F1 (each class's F1 = 2·TP / (2·TP + FP + FN), 0 when that is 0/0), found
    /// exactly by lowering the threshold through every distinct score; returns it as a probability and the F1 there.
    static func bestMacroF1(logits: [Float], positives: [Bool], classes: Int) -> (threshold: Double, macroF1: Double) {
        var positivesOf = [Int](repeating: 0, count: classes)
        for (i, positive) in positives.enumerated() where positive { positivesOf[i % classes] += 1 }
        var truePositives = [Int](repeating: 0, count: classes), predicted = [Int](repeating: 0, count: classes)
        func f1(_ c: Int) -> Double {
            let denominator = predicted[c] + positivesOf[c]
            return denominator == 0 ? 0 : 2 * Double(truePositives[c]) / Double(denominator)
        }
        // Predicting nothing: every class scores 0.
        var sum = 0.0, best = (threshold: 1.0, macroF1: 0.0)
        let order = logits.indices.sorted { logits[$0] > logits[$1] }
        var k = 0
        while k < order.count {
            let score = logits[order[k]]
            while k < order.count && logits[order[k]] == score {
                let c = order[k] % classes
                sum -= f1(c)
                predicted[c] += 1
                if positives[order[k]] { truePositives[c] += 1 }
                sum += f1(c)
                k += 1
            }
            let macro = sum / Double(classes)
            if macro > best.macroF1 + 1e-12 { best = (1 / (1 + exp(-Double(score))), macro) }
        }
        return best
    }

    /// `val_map`, `val_map_micro`, `val_macro_f1` and `val_f1_threshold`, each with `suffix` (e.g. `_without_text`).
    public func named(suffix: String = "") -> [String: Double] {
        ["val_map\(suffix)": macroAP, "val_map_micro\(suffix)": microAP, "val_macro_f1\(suffix)": macroF1, "val_f1_threshold\(suffix)": threshold]
    }
}
