import DataPipeline
import Foundation
import TensorCore
import Text
import TrainingKit

/// What a bound modality is worth: retrieval between it and the images it was bound to, and the emergent alignment
/// with the CLIP's text it never saw (retrieval of each sample's caption, zero-shot classification by class prompts).
public final class BindEvaluation: TaskEvaluation {
    public let model: BindModel
    public let tokenizer: TextTokenizer
    /// Validation samples: image and audio, with an optional caption (`.txt`) and class (`.cls`).
    public let validation: SampleSource
    /// Class names and prompt templates for emergent zero-shot classification of the validation audio by its `.cls`.
    public let classes: ZeroShotTask?
    public let loaderOptions: LoaderOptions
    public let frequencies: [String: Int]

    /// Optional validation fields read as bytes: the caption and the class index.
    static let caption = SampleField("text", kind: .bytes), label = SampleField("label", kind: .bytes)
    /// Metric name of emergent zero-shot accuracy of the bound modality (top-1, top-5).
    public static let zeroShotNames = ["zeroshot-audio-top1", "zeroshot-audio-top5"]

    public init(model: BindModel, tokenizer: TextTokenizer, validation: SampleSource, classes: ZeroShotTask?, loaderOptions: LoaderOptions,
                settings: Settings) {
        self.model = model
        self.tokenizer = tokenizer
        self.validation = validation
        self.classes = classes
        self.loaderOptions = loaderOptions
        frequencies = ["retrieval": settings.valFrequency]
    }

    /// Retrieval names of a pair of directions: `audio_to_image_R@1` ... `image_to_audio_median_rank`.
    static func retrievalNames(_ query: String, _ candidate: String) -> [String] {
        RetrievalMetrics.metricNames.filter { $0 != "clip_val_loss" }.map { renamed($0, query, candidate) }
    }

    static func renamed(_ name: String, _ query: String, _ candidate: String) -> String {
        name.replacingOccurrences(of: "image_to_text", with: "\(query)_to_\(candidate)")
            .replacingOccurrences(of: "text_to_image", with: "\(candidate)_to_\(query)")
    }

    public var metricNames: [String] {
        Self.retrievalNames("audio", "image") + ["bind_val_loss"] + Self.retrievalNames("audio", "text") + (classes == nil ? [] : Self.zeroShotNames)
    }

    /// The validation set embedded in dataset order: audio, images, captions' texts (where every sample has one) and labels.
    struct Embedded {
        var audio: [Float] = [], images: [Float] = [], texts: [Float] = []
        var captions: [String] = [], labels: [Int] = []
        var count = 0
    }

    func embed() throws -> Embedded {
        let loader = try DataLoader(source: validation, tokenizer: tokenizer, options: loaderOptions)
        var embedded = Embedded()
        let size = model.config.vision.imageSize, audio = model.config.audio
        var allCaptioned = true, allLabelled = true
        while let (batch, _) = try loader.next() {
            guard batch.count > 0 else { continue }
            embedded.images += model.encodeImage(Tensor(shape: [batch.count, 3, size, size], values: batch.fields.images[.image]!)).values
            embedded.audio += model.encodeAudio(Tensor(shape: [batch.count, 1, audio.melBins, audio.frames], values: batch.fields.spectrograms[.audio]!)).values
            let captions = (batch.fields.bytes[Self.caption] ?? []).map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
            allCaptioned = allCaptioned && captions.count == batch.count && !captions.contains("")
            if allCaptioned {
                embedded.captions += captions
                embedded.texts += model.encodeText(tokenizer.encodeBatch(captions, contextLength: model.config.text.contextLength)).values
            }
            let labels = (batch.fields.bytes[Self.label] ?? []).map { Int(String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) }
            allLabelled = allLabelled && labels.count == batch.count && labels.allSatisfy { $0 != nil }
            if allLabelled { embedded.labels += labels.map { $0! } }
            embedded.count += batch.count
        }
        if !allCaptioned { embedded.captions = []; embedded.texts = [] }
        if !allLabelled { embedded.labels = [] }
        return embedded
    }

    /// Every metric the data allows (`due` has one part, "retrieval").
    public func evaluate(due: Set<String>? = nil) throws -> [String: Double] {
        guard due?.contains("retrieval") ?? true else { return [:] }
        return try withoutGradients {
            let embedded = try embed()
            guard embedded.count > 0 else { return [:] }
            return metrics(embedded)
        }
    }

    func metrics(_ e: Embedded) -> [String: Double] {
        let dim = model.config.embedDim
        var metrics: [String: Double] = [:]
        let audioImage = RetrievalMetrics.compute(imageFeatures: e.audio, textFeatures: e.images, count: e.count, dim: dim,
                                                  logitScale: Foundation.exp(model.audioLogitScale.value.scalar),
                                                  captions: e.captions.isEmpty ? nil : e.captions, lossBatchSize: loaderOptions.batchSize)
        for (name, value) in audioImage {
            metrics[name == "clip_val_loss" ? "bind_val_loss" : Self.renamed(name, "audio", "image")] = value
        }
        if !e.captions.isEmpty {
            // Emergent: the audio encoder never saw a caption; captions repeated in the set count as the same answer.
            let audioText = RetrievalMetrics.compute(imageFeatures: e.audio, textFeatures: e.texts, count: e.count, dim: dim,
                                                     logitScale: Foundation.exp(model.logitScale.value.scalar), captions: e.captions)
            for (name, value) in audioText where name != "clip_val_loss" { metrics[Self.renamed(name, "audio", "text")] = value }
        }
        if let classes, !e.labels.isEmpty, e.labels.allSatisfy({ (0..<classes.classNames.count).contains($0) }) {
            let context = model.config.text.contextLength
            let perClass = classes.classNames.indices.map { model.encodeText(tokenizer.encodeBatch(classes.prompts(forClass: $0), contextLength: context)).values }
            let classifier = ZeroShotClassifier.classifierWeights(perTemplateEmbeddings: perClass, dim: dim)
            let (top1, top5) = ZeroShotClassifier.accuracy(imageFeatures: e.audio, labels: e.labels, classifier: classifier,
                                                           numClasses: classes.classNames.count, dim: dim)
            metrics[Self.zeroShotNames[0]] = top1
            metrics[Self.zeroShotNames[1]] = top5
        }
        return metrics
    }
}
