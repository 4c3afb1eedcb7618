import DataPipeline
import Foundation
import TensorCore
import Text
import TrainingKit

/// Zero-shot classification and retrieval of a CLIP model, with OpenCLIP's metric names.
public final class CLIPEvaluation: TaskEvaluation {
    public let model: CLIPModel
    public let tokenizer: TextTokenizer
    public let zeroShot: ZeroShotTask?
    public let validation: SampleSource?
    public var batchSize = 256
    public var workers = 1
    /// Epoch frequencies of the two parts (--zeroshot-frequency, --val-frequency).
    public let frequencies: [String: Int]

    public init(model: CLIPModel, tokenizer: TextTokenizer, zeroShot: ZeroShotTask?, validation: SampleSource?, settings: Settings) {
        self.model = model
        self.tokenizer = tokenizer
        self.zeroShot = zeroShot
        self.validation = validation
        workers = settings.workers
        frequencies = ["zeroshot": settings.zeroshotFrequency, "retrieval": settings.valFrequency]
    }

    public var metricNames: [String] {
        (zeroShot == nil ? [] : [ZeroShotClassifier.top1MetricName, ZeroShotClassifier.top5MetricName])
            + (validation == nil ? [] : RetrievalMetrics.metricNames + [WordOrderSensitivity.metricName])
    }

    /// Every available metric (or the parts in `due`): `zeroshot-val-top1/top5`, `image_to_text_R@1` ...
    /// `text_to_image_median_rank`, `clip_val_loss`, and NegCLIP's `val_word_order_accuracy`.
    public func evaluate(due: Set<String>? = nil) throws -> [String: Double] {
        try withoutGradients {
            var metrics: [String: Double] = [:]
            if due?.contains("zeroshot") ?? true, let zeroShot { metrics.merge(try zeroShotAccuracy(model, zeroShot)) { $1 } }
            if due?.contains("retrieval") ?? true, let validation { metrics.merge(try retrieval(model, validation)) { $1 } }
            return metrics
        }
    }

    /// Images (eval transform) and texts of `source`, embedded in batches, in dataset order.
    func embed(_ model: CLIPModel, _ source: SampleSource, texts: Bool)
        throws -> (images: [Float], texts: [Float], labels: [Int], captions: [String]) {
        let size = model.config.vision.imageSize
        let options = LoaderOptions(mode: .evaluation, batchSize: batchSize, transform: ImageTransform(mode: .eval, size: size),
                                    contextLength: model.config.text.contextLength, workers: workers)
        let loader = try DataLoader(source: source, tokenizer: tokenizer, options: options)
        var images: [Float] = [], textFeatures: [Float] = [], labels: [Int] = [], captions: [String] = []
        while let (batch, _) = try loader.next() {
            guard batch.count > 0 else { continue }
            images += model.encodeImage(Tensor(shape: [batch.count, 3, size, size], values: batch.images)).values
            if texts { textFeatures += model.encodeText(batch.tokens).values }
            labels += batch.labels
            captions += batch.captions
        }
        return (images, textFeatures, labels, captions)
    }

    func zeroShotAccuracy(_ model: CLIPModel, _ task: ZeroShotTask) throws -> [String: Double] {
        let context = model.config.text.contextLength
        return try ZeroShotClassifier.evaluate(task, dim: model.config.embedDim,
                                               encodeTexts: { model.encodeText(tokenizer.encodeBatch($0, contextLength: context)).values },
                                               embedImages: { source in
                                                   let embedded = try embed(model, source, texts: false)
                                                   return (embedded.images, embedded.labels)
                                               })
    }

    func retrieval(_ model: CLIPModel, _ source: SampleSource) throws -> [String: Double] {
        let embedded = try embed(model, source, texts: true)
        let count = embedded.captions.count
        guard count > 0 else { return [:] }
        // Repeated captions are false negatives: a retrieved caption with the true caption's text counts as a hit.
        var metrics = RetrievalMetrics.compute(imageFeatures: embedded.images, textFeatures: embedded.texts, count: count,
                                               dim: model.config.embedDim, logitScale: Foundation.exp(model.logitScale.value.scalar),
                                               captions: embedded.captions)
        let context = model.config.text.contextLength
        metrics[WordOrderSensitivity.metricName] = WordOrderSensitivity.accuracy(
            imageFeatures: embedded.images, textFeatures: embedded.texts, captions: embedded.captions, dim: model.config.embedDim,
            encodeTexts: { model.encodeText(tokenizer.encodeBatch($0, contextLength: context)).values })
        return metrics
    }
}
