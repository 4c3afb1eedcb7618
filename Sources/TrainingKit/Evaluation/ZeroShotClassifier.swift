import DataPipeline
import Foundation
import TensorCore

/// Zero-shot classification as OpenCLIP evaluates it: class text embeddings averaged over prompt templates,
/// images assigned to the most similar class.
public enum ZeroShotClassifier {
    /// Metric names for a validation set's zero-shot accuracy (OpenCLIP prefixes them with the data set's name).
    public static let top1MetricName = "zeroshot-val-top1"
    public static let top5MetricName = "zeroshot-val-top5"

    /// Prompt templates (`{}` stands for the class name), from OpenAI's ImageNet prompt set; the caller encodes
    /// `template.replacingOccurrences(of: "{}", with: classname)` for each class and template.
    public static let defaultTemplates = [
        "a photo of a {}.",
        "a bad photo of a {}.",
        "a photo of the large {}.",
        "a photo of the small {}.",
        "a close-up photo of a {}.",
        "a bright photo of a {}.",
        "a cropped photo of a {}.",
        "itap of a {}.",
        "art of the {}.",
        "a {} in a video game.",
    ]

    /// The prompts for one class, one per template.
    public static func prompts(className: String, templates: [String] = defaultTemplates) -> [String] {
        templates.map { $0.replacingOccurrences(of: "{}", with: className) }
    }

    /// Class weights [numClasses, dim] (row-major, class-major): each class's per-template text embeddings
    /// averaged, then L2-normalised, as OpenCLIP's `build_zero_shot_classifier`.
    ///
    /// - Parameter perTemplateEmbeddings: one array per class holding its templates' embeddings back to back
    ///   ([template × dim], each already L2-normalised as `encode_text(normalize=True)` gives them).
    public static func classifierWeights(perTemplateEmbeddings: [[Float]], dim: Int) -> [Float] {
        precondition(dim > 0, "zero-shot classifier: dimension must be positive")
        var weights = [Float](repeating: 0, count: perTemplateEmbeddings.count * dim)
        for (c, embeddings) in perTemplateEmbeddings.enumerated() {
            precondition(!embeddings.isEmpty && embeddings.count % dim == 0,
                         "zero-shot classifier: class \(c) has \(embeddings.count) values, not a multiple of \(dim)")
            let templates = embeddings.count / dim
            var mean = [Double](repeating: 0, count: dim)
            for t in 0..<templates { for d in 0..<dim { mean[d] += Double(embeddings[t * dim + d]) } }
            // Dividing by the template count does not change the direction, but OpenCLIP takes the mean; the norm follows.
            var norm = 0.0
            for d in 0..<dim {
                mean[d] /= Double(templates)
                norm += mean[d] * mean[d]
            }
            let inverse = norm > 0 ? 1 / norm.squareRoot() : 0
            for d in 0..<dim { weights[c * dim + d] = Float(mean[d] * inverse) }
        }
        return weights
    }

    /// Top-1 and top-5 accuracy of images against class weights.
    ///
    /// An image counts as correct at k when fewer than k classes rank above its true class (higher similarity,
    /// or equal similarity and a lower class index); k is capped at `numClasses` (where PyTorch's `topk(5)` would
    /// fail). Logits are not scaled, since OpenCLIP's factor 100 does not change the order.
    /// - Parameters: `imageFeatures` [N, dim] L2-normalised; `labels` N class indices; `classifier` [numClasses, dim]
    ///   from `classifierWeights`.
    public static func accuracy(imageFeatures: [Float], labels: [Int], classifier: [Float], numClasses: Int, dim: Int,
                                rowsPerTile: Int = 1024) -> (top1: Double, top5: Double) {
        let n = labels.count
        precondition(n > 0 && imageFeatures.count == n * dim, "zero-shot accuracy: \(imageFeatures.count) feature values for \(n) labels × \(dim)")
        precondition(numClasses > 0 && classifier.count == numClasses * dim, "zero-shot accuracy: classifier of \(classifier.count) values for \(numClasses) × \(dim)")
        precondition(labels.allSatisfy { (0..<numClasses).contains($0) }, "zero-shot accuracy: a label is outside 0..<\(numClasses)")
        let tileRows = max(1, min(rowsPerTile, n))
        var logits = [Float](repeating: 0, count: tileRows * numClasses)
        var top1 = 0, top5 = 0
        imageFeatures.withUnsafeBufferPointer { x in
            classifier.withUnsafeBufferPointer { w in
                logits.withUnsafeMutableBufferPointer { l in
                    var start = 0
                    while start < n {
                        let rows = min(tileRows, n - start)
                        BLAS.gemm(transposeA: false, transposeB: true, m: rows, n: numClasses, k: dim,
                                  a: x.baseAddress! + start * dim, lda: dim, b: w.baseAddress!, ldb: dim,
                                  c: l.baseAddress!, ldc: numClasses)
                        for r in 0..<rows {
                            let label = labels[start + r]
                            let row = l.baseAddress! + r * numClasses
                            let value = row[label]
                            var above = 0
                            if value.isNaN {
                                above = numClasses
                            } else {
                                for c in 0..<numClasses where row[c] > value || (row[c] == value && c < label) { above += 1 }
                            }
                            if above < 1 { top1 += 1 }
                            if above < min(5, numClasses) { top5 += 1 }
                        }
                        start += rows
                    }
                }
            }
        }
        return (Double(top1) / Double(n), Double(top5) / Double(n))
    }

    /// `accuracy` under OpenCLIP's metric names; `prefix` names the data set as OpenCLIP does (`imagenet-` gives
    /// `imagenet-zeroshot-val-top1`).
    public static func metrics(imageFeatures: [Float], labels: [Int], classifier: [Float], numClasses: Int, dim: Int,
                               prefix: String = "") -> [String: Double] {
        let (top1, top5) = accuracy(imageFeatures: imageFeatures, labels: labels, classifier: classifier, numClasses: numClasses, dim: dim)
        return [prefix + top1MetricName: top1, prefix + top5MetricName: top5]
    }

    /// OpenCLIP's zero-shot evaluation of `task` by any model with L2-normalised image and text embeddings of `dim` values:
    /// `encodeTexts` embeds prompts (rows back to back), `embedImages` the task's images with their class labels.
    /// No metrics when the task has no images.
    public static func evaluate(_ task: ZeroShotTask, dim: Int, encodeTexts: ([String]) -> [Float],
                                embedImages: (SampleSource) throws -> (features: [Float], labels: [Int])) throws -> [String: Double] {
        let perClass = task.classNames.indices.map { encodeTexts(task.prompts(forClass: $0)) }
        let classifier = classifierWeights(perTemplateEmbeddings: perClass, dim: dim)
        let embedded = try embedImages(task.source)
        guard !embedded.labels.isEmpty else { return [:] }
        return metrics(imageFeatures: embedded.features, labels: embedded.labels, classifier: classifier, numClasses: task.classNames.count, dim: dim)
    }
}
