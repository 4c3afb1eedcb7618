import CaptionMetrics
import DataPipeline
import Foundation
import TensorCore
import Text
import TrainingKit

/// A CoCa model's evaluation: greedy captions of the validation split scored against each image's references (BLEU-1..4,
/// CIDEr-D), the same scores of two baselines (`CaptionBaselines`, from the training split), the validation caption
/// loss, and, as for CLIP, zero-shot accuracy and retrieval under OpenCLIP's names.
///
/// References, as COCO's evaluation has several per image: an image is a sample key (a WebDataset sample, a CSV image
/// path), so CSV rows of the same image are one image with each row's caption as a reference and one generated caption;
/// a WebDataset sample's `json` member adds every string of its `captions` list (other than the sample's caption).
public final class CoCaEvaluation: TaskEvaluation {
    /// The caption metrics, as pycocoevalcap names them with the `val_` prefix (a stage may plateau on any of them).
    public static let captionMetricNames = (1...4).map { "val_bleu\($0)" } + ["val_cider"]
    /// OpenCLIP's name for the validation caption loss (the mean over every non-pad target of the split).
    public static let captionLossMetricName = "val_generative_loss"

    public let model: CoCaModel
    public let tokenizer: TextTokenizer
    public let zeroShot: ZeroShotTask?
    public let validation: SampleSource?
    /// The training split the baselines draw their captions and nearest images from (nil: no baselines).
    public let training: SampleSource?
    /// The baselines read at most this many training samples.
    public var baselineTrainingLimit = 20_000
    public var batchSize = 64
    public var workers = 1
    /// How validation captions are generated (greedy, with the key/value cache).
    public var limits: CaptionLimits
    /// Epoch frequencies of the two parts (--zeroshot-frequency, --val-frequency).
    public let frequencies: [String: Int]
    let vocabulary: CaptionVocabulary
    /// The generated captions and their references of the last validation pass, in dataset order.
    public private(set) var lastCaptions: [CaptionExample] = []

    public init(model: CoCaModel, tokenizer: TextTokenizer, zeroShot: ZeroShotTask?, validation: SampleSource?, training: SampleSource? = nil,
                settings: Settings) throws {
        self.model = model
        self.tokenizer = tokenizer
        self.zeroShot = zeroShot
        self.validation = validation
        self.training = validation == nil ? nil : training
        vocabulary = try CaptionVocabulary(tokenizer: tokenizer, source: "evaluation")
        let context = model.config.text.contextLength
        let maxLength = min(30, context + 1)
        limits = try vocabulary.limits(padTokenId: Int32(model.config.text.padId), contextLength: context,
                                       minLength: min(settings.valCaptionMinLength, maxLength), maxLength: maxLength)
        workers = settings.workers
        frequencies = ["zeroshot": settings.zeroshotFrequency, "validation": settings.valFrequency]
    }

    public var metricNames: [String] {
        (zeroShot == nil ? [] : [ZeroShotClassifier.top1MetricName, ZeroShotClassifier.top5MetricName])
            + (validation == nil ? [] : RetrievalMetrics.metricNames + [Self.captionLossMetricName] + Self.captionMetricNames)
            + (training == nil ? [] : CaptionBaselines.metricNames)
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
        var labels: [Int] = []
        let features = try imageLatents(source) { labels += $0.labels }
        return (features, labels)
    }

    /// L2-normalised image latents of `source`'s samples in order, handing each batch to `read`, until `limit` samples.
    func imageLatents(_ source: SampleSource, limit: Int = .max, read: (Batch) -> Void) throws -> [Float] {
        let loader = try loader(source)
        var features: [Float] = [], count = 0
        while count < limit, let (batch, _) = try loader.next() {
            guard batch.count > 0 else { continue }
            features += model.imageEncoder.attentionalPooledFeatures(pixels(batch)).pooled.l2Normalized().values
            read(batch)
            count += batch.count
        }
        return features
    }

    /// One pass over the validation split: latents for retrieval, the caption loss, greedy captions of each image and their
    /// scores against its references, and the baselines' scores.
    func validate(_ source: SampleSource) throws -> [String: Double] {
        let loader = try loader(source)
        var images: [Float] = [], texts: [Float] = [], captions: [String] = []
        var references = ValidationReferences()
        var lossSum = 0.0, targets = 0
        while let (batch, _) = try loader.next() {
            guard batch.count > 0 else { continue }
            let batchImages = pixels(batch)
            let outputs = model.forward(images: batchImages, tokens: batch.tokens)
            let imageLatents = outputs.imageLatent.l2Normalized()
            images += imageLatents.values
            texts += outputs.textLatent.l2Normalized().values
            // The caption loss is a mean over this batch's targets: weighted by them, the sum gives the split's token mean.
            if let caption = model.captionLoss(outputs, tokens: batch.tokens) {
                lossSum += Double(caption.loss.scalar) * Double(caption.targets)
                targets += caption.targets
            }
            let newImages = try references.add(batch)
            if !newImages.isEmpty {
                let rows = model.greedyCaptions(images: batchImages.rows(newImages), limits: limits)
                references.setCandidates(rows.map { vocabulary.text(of: $0, padTokenId: limits.padTokenId) },
                                         latents: imageLatents.rows(newImages).values)
            }
            captions += batch.captions
        }
        let examples = references.examples
        lastCaptions = examples
        guard !captions.isEmpty else { return [:] }
        var metrics = RetrievalMetrics.compute(imageFeatures: images, textFeatures: texts, count: captions.count, dim: model.config.embedDim,
                                               logitScale: Foundation.exp(model.logitScale.value.scalar), captions: captions)
        if targets > 0 { metrics[Self.captionLossMetricName] = lossSum / Double(targets) }
        let scores = try CaptionMetrics.score(examples)
        for (name, value) in zip(Self.captionMetricNames, scores.bleu + [scores.cider]) { metrics[name] = value }
        if let training {
            var trainingCaptions: [String] = []
            let trainingLatents = try imageLatents(training, limit: baselineTrainingLimit) { trainingCaptions += $0.captions }
            let nearest = CaptionBaselines.nearest(queries: references.latents, keys: trainingLatents, dim: model.config.embedDim)
            metrics.merge(try CaptionBaselines.scores(examples, trainingCaptions: trainingCaptions, nearest: nearest)) { $1 }
        }
        return metrics
    }
}
