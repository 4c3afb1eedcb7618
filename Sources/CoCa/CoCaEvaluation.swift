import CaptionMetrics
import DataPipeline
import Foundation
import TensorCore
import Text
import TrainingKit

/// A CoCa model's evaluation: greedy captions of the validation split scored against each sample's caption (BLEU-1..4,
/// CIDEr-D), the validation caption loss, and, as for CLIP, zero-shot accuracy and retrieval under OpenCLIP's names.
public final class CoCaEvaluation: TaskEvaluation {
    /// The caption metrics, as pycocoevalcap names them with the `val_` prefix (a stage may plateau on any of them).
    public static let captionMetricNames = (1...4).map { "val_bleu\($0)" } + ["val_cider"]
    /// OpenCLIP's name for the validation caption loss (the mean over every non-pad target of the split).
    public static let captionLossMetricName = "val_generative_loss"

    public let model: CoCaModel
    public let tokenizer: TextTokenizer
    public let zeroShot: ZeroShotTask?
    public let validation: SampleSource?
    public var batchSize = 64
    public var workers = 1
    /// How validation captions are generated (greedy, with the key/value cache).
    public var limits: CaptionLimits
    /// Epoch frequencies of the two parts (--zeroshot-frequency, --val-frequency).
    public let frequencies: [String: Int]
    let vocabulary: CaptionVocabulary
    /// The generated captions and their references of the last validation pass, in dataset order.
    public private(set) var lastCaptions: [CaptionExample] = []

    public init(model: CoCaModel, tokenizer: TextTokenizer, zeroShot: ZeroShotTask?, validation: SampleSource?, settings: Settings) throws {
        self.model = model
        self.tokenizer = tokenizer
        self.zeroShot = zeroShot
        self.validation = validation
        vocabulary = try CaptionVocabulary(tokenizer: tokenizer, source: "evaluation")
        let context = model.config.text.contextLength
        limits = try vocabulary.limits(padTokenId: Int32(model.config.text.padId), contextLength: context, maxLength: min(30, context + 1))
        workers = settings.workers
        frequencies = ["zeroshot": settings.zeroshotFrequency, "validation": settings.valFrequency]
    }

    public var metricNames: [String] {
        (zeroShot == nil ? [] : [ZeroShotClassifier.top1MetricName, ZeroShotClassifier.top5MetricName])
            + (validation == nil ? [] : RetrievalMetrics.metricNames + [Self.captionLossMetricName] + Self.captionMetricNames)
    }

    public func evaluate(due: Set<String>? = nil) throws -> [String: Double] {
        try withoutGradients {
            var metrics: [String: Double] = [:]
            if due?.contains("zeroshot") ?? true, let zeroShot {
                let context = model.config.text.contextLength
                metrics.merge(try ZeroShotClassifier.evaluate(zeroShot, dim: model.config.embedDim,
                                                              encodeTexts: { textLatents(tokenizer.encodeBatch($0, contextLength: context)).values },
                                                              embedImages: imageLatentsAndLabels)) { $1 }
            }
            if due?.contains("validation") ?? true, let validation { metrics.merge(try validate(validation)) { $1 } }
            return metrics
        }
    }

    func loader(_ source: SampleSource) throws -> DataLoader {
        let options = LoaderOptions(mode: .evaluation, batchSize: batchSize, transform: ImageTransform(mode: .eval, size: model.config.vision.imageSize),
                                    contextLength: model.config.text.contextLength, workers: workers)
        return try DataLoader(source: source, tokenizer: tokenizer, options: options)
    }

    func pixels(_ batch: Batch) -> Tensor {
        let size = model.config.vision.imageSize
        return Tensor(shape: [batch.count, 3, size, size], values: batch.images)
    }

    func textLatents(_ tokens: [Int32]) -> Tensor {
        model.textEncoder.clsPooledAndTokenFeatures(tokens, length: model.config.text.contextLength).pooled.l2Normalized()
    }

    func imageLatentsAndLabels(_ source: SampleSource) throws -> (features: [Float], labels: [Int]) {
        let loader = try loader(source)
        var features: [Float] = [], labels: [Int] = []
        while let (batch, _) = try loader.next() {
            guard batch.count > 0 else { continue }
            features += model.imageEncoder.attentionalPooledFeatures(pixels(batch)).pooled.l2Normalized().values
            labels += batch.labels
        }
        return (features, labels)
    }

    /// One pass over the validation split: latents for retrieval, the caption loss, greedy captions and their scores.
    func validate(_ source: SampleSource) throws -> [String: Double] {
        let loader = try loader(source)
        var images: [Float] = [], texts: [Float] = [], captions: [String] = [], examples: [CaptionExample] = []
        var lossSum = 0.0, targets = 0
        while let (batch, _) = try loader.next() {
            guard batch.count > 0 else { continue }
            let batchImages = pixels(batch)
            let outputs = model.forward(images: batchImages, tokens: batch.tokens)
            images += outputs.imageLatent.l2Normalized().values
            texts += outputs.textLatent.l2Normalized().values
            // The caption loss is a mean over this batch's targets: weighted by them, the sum gives the split's token mean.
            if let caption = model.captionLoss(outputs, tokens: batch.tokens) {
                lossSum += Double(caption.loss.scalar) * Double(caption.targets)
                targets += caption.targets
            }
            for (row, reference) in zip(model.greedyCaptions(images: batchImages, limits: limits), batch.captions) {
                examples.append(CaptionExample(id: String(examples.count), references: [reference],
                                               candidate: vocabulary.text(of: row, padTokenId: limits.padTokenId)))
            }
            captions += batch.captions
        }
        lastCaptions = examples
        guard !captions.isEmpty else { return [:] }
        var metrics = RetrievalMetrics.compute(imageFeatures: images, textFeatures: texts, count: captions.count, dim: model.config.embedDim,
                                               logitScale: Foundation.exp(model.logitScale.value.scalar), captions: captions)
        if targets > 0 { metrics[Self.captionLossMetricName] = lossSum / Double(targets) }
        let scores = try CaptionMetrics.score(examples)
        for (name, value) in zip(Self.captionMetricNames, scores.bleu + [scores.cider]) { metrics[name] = value }
        return metrics
    }
}
