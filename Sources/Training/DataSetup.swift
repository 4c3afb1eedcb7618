import CLIP
import DataPipeline
import Foundation
import TensorCore
import Text

/// Turns the data flags into a tokenizer, training batches and evaluation sets.
public struct DataSetup {
    public let configuration: TrainingConfiguration
    public let model: CLIPConfig
    public let runDirectory: String

    public init(configuration: TrainingConfiguration, model: CLIPConfig, runDirectory: String) {
        self.configuration = configuration
        self.model = model
        self.runDirectory = runDirectory
    }

    /// The built-in synthetic dataset at the model's image size (its content does not depend on `--seed`).
    public var synthetic: SyntheticShapes {
        SyntheticShapes(seed: 0, imageSize: model.vision.imageSize, trainCount: configuration.trainNumSamples ?? 10_000,
                        valCount: configuration.valNumSamples ?? 1_000)
    }

    func sourceOptions(data: String?, split: SyntheticShapes.Split) -> DataSourceOptions {
        let type = DataSourceOptions.DatasetType(rawValue: configuration.datasetType) ?? .auto
        return DataSourceOptions(datasetType: type, data: data, csvImageKey: configuration.csvImgKey, csvCaptionKey: configuration.csvCaptionKey,
                                 csvSeparator: configuration.csvSeparator, synthetic: synthetic, syntheticSplit: split)
    }

    /// The tokenizer: OpenCLIP's CLIP BPE for 49,408-id models, otherwise a BPE vocabulary trained on the
    /// captions (saved as `tokenizer.json` in the run folder and reused on resume).
    public func tokenizer() throws -> TextTokenizer {
        let kind = configuration.tokenizer == "auto" ? (model.text.vocabSize == 49_408 ? "clip-bpe" : "builtin") : configuration.tokenizer
        switch kind {
        case "clip-bpe":
            let merges = configuration.merges ?? Self.defaultMergesFile
            guard FileManager.default.fileExists(atPath: merges) else {
                throw TrainingError("\(merges): CLIP BPE merges file not found (pass --merges bpe_simple_vocab_16e6.txt.gz)")
            }
            let tokenizer = try CLIPBPETokenizer(mergesFile: merges)
            guard tokenizer.vocabularySize <= model.text.vocabSize else {
                throw TrainingError("tokenizer has \(tokenizer.vocabularySize) ids but the model's vocab_size is \(model.text.vocabSize)")
            }
            return tokenizer
        case "builtin":
            let path = runDirectory + "/tokenizer.json"
            let tokenizer: TrainedBPETokenizer
            if FileManager.default.fileExists(atPath: path) {
                tokenizer = try TrainedBPETokenizer(contentsOf: path)
            } else {
                tokenizer = try BPETrainer.train(corpus: try captionCorpus(limit: 20_000), vocabularySize: model.text.vocabSize)
            }
            try tokenizer.check(fitsModelVocabulary: model.text.vocabSize)
            return tokenizer
        default:
            throw TrainingError("--tokenizer must be auto, clip-bpe or builtin, got \(configuration.tokenizer)")
        }
    }

    /// Saves a trained tokenizer next to the run (rank 0) so evaluation and resumed runs use the same ids.
    public func saveTokenizer(_ tokenizer: TextTokenizer) throws {
        guard let trained = tokenizer as? TrainedBPETokenizer else { return }
        let path = runDirectory + "/tokenizer.json"
        if !FileManager.default.fileExists(atPath: path) { try trained.save(to: path) }
    }

    /// Captions to train the built-in tokenizer on: the first `limit` training captions plus the zero-shot prompts.
    func captionCorpus(limit: Int) throws -> [String] {
        let source = try sourceOptions(data: configuration.trainData, split: .train).makeSource()
        let count = min(try source.sampleCount(), limit)
        var corpus: [String] = []
        for id in 0..<count { if let sample = try? source.load(id: id) { corpus.append(sample.caption) } }
        if let task = try? zeroShotTask() {
            for c in task.classNames.indices { corpus += task.prompts(forClass: c) }
        }
        return corpus
    }

    /// The zero-shot task: `--zeroshot-data` (image folder), or the synthetic validation split for synthetic data.
    public func zeroShotTask() throws -> ZeroShotTask? {
        if let folder = configuration.zeroshotData { return ZeroShotTask(folder: try ZeroShotFolder(root: folder)) }
        if sourceOptions(data: configuration.trainData, split: .train).resolvedType == .synthetic { return synthetic.zeroShotTask() }
        return nil
    }

    /// The retrieval/validation-loss set: `--val-data`, or the synthetic validation split for synthetic data.
    public func validationSource() throws -> SampleSource? {
        if let val = configuration.valData { return try sourceOptions(data: val, split: .val).makeSource() }
        if sourceOptions(data: configuration.trainData, split: .train).resolvedType == .synthetic { return synthetic.source(.val) }
        return nil
    }

    /// The repository's copy of OpenCLIP's merges file.
    static var defaultMergesFile: String {
        let candidates = [FileManager.default.currentDirectoryPath + "/vocab/bpe_simple_vocab_16e6.txt.gz"]
            + ModelCatalog.searchPaths.map { $0 + "/../../vocab/bpe_simple_vocab_16e6.txt.gz" }
        return candidates.first { FileManager.default.fileExists(atPath: $0) } ?? candidates[0]
    }
}

/// Training batches from the data pipeline's loader, epoch after epoch, starting anywhere (resume).
public final class LoaderDataSource: TrainingDataSource {
    let source: SampleSource
    let tokenizer: TextTokenizer
    let base: LoaderOptions
    let imageSize: Int
    public let samplesPerEpoch: Int
    var loader: DataLoader?
    var epoch = 0
    /// Samples skipped (corrupt or missing) in the batches consumed so far on this rank.
    public private(set) var skipped = 0

    public init(source: SampleSource, tokenizer: TextTokenizer, options: LoaderOptions, imageSize: Int) throws {
        self.source = source
        self.tokenizer = tokenizer
        base = options
        self.imageSize = imageSize
        samplesPerEpoch = try options.epochLength ?? source.sampleCount()
    }

    /// Samples consumed per epoch: whole global batches only (the last partial one is dropped).
    var consumedPerEpoch: Int { samplesPerEpoch / (base.batchSize * base.worldSize) * base.batchSize * base.worldSize }

    public func seek(samplesSeen: Int) throws {
        let perEpoch = max(consumedPerEpoch, 1)
        try open(epoch: samplesSeen / perEpoch, start: samplesSeen % perEpoch)
    }

    func open(epoch: Int, start: Int) throws {
        loader?.stop()
        var options = base
        options.epoch = epoch
        options.startPosition = start
        options.epochLength = samplesPerEpoch
        self.epoch = epoch
        loader = try DataLoader(source: source, tokenizer: tokenizer, options: options)
    }

    public func next() throws -> LocalBatch {
        if loader == nil { try open(epoch: 0, start: 0) }
        var result = try loader!.next()
        if result == nil {
            try open(epoch: epoch + 1, start: 0)
            result = try loader!.next()
        }
        guard let (batch, wait) = result else { throw TrainingError("the data source yields no full global batch (too few samples for --batch-size × ranks)") }
        skipped += batch.skipped
        return LocalBatch(images: Tensor(shape: [batch.count, 3, imageSize, imageSize], values: batch.images), tokens: batch.tokens, waitSeconds: wait)
    }
}
