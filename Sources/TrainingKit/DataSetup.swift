import DataPipeline
import Foundation
import TensorCore
import Text

/// Turns the data settings into a tokenizer, training batches and evaluation sets for a model that reads images of
/// `imageSize` and token rows of `contextLength` ids below `vocabularySize`.
public struct DataSetup {
    public let settings: Settings
    public let imageSize: Int
    public let contextLength: Int
    public let vocabularySize: Int
    public let runDirectory: String
    /// The fields the family reads from every sample (a sample without one is skipped; a dataset without one is an error).
    public let fields: [SampleField]
    /// A sample lacking one of `fields` is skipped with a warning (true), or an error naming its shard and key (false).
    public var skipIncomplete = true
    /// The audio encoder's input shape: filter banks of `melBins` bins fitted to `audioFrames` frames.
    public var melBins = 128, audioFrames = 204

    public init(settings: Settings, imageSize: Int, contextLength: Int, vocabularySize: Int, runDirectory: String,
                fields: [SampleField] = SampleField.imageText) {
        self.settings = settings
        self.fields = fields
        self.imageSize = imageSize
        self.contextLength = contextLength
        self.vocabularySize = vocabularySize
        self.runDirectory = runDirectory
    }

    /// How audio fields become encoder input: the model's shape, `--audio-sample-rate`, `--audio-mean`, `--audio-std`,
    /// and for training `--audio-augment`.
    public func audioTransform(training: Bool) -> AudioTransform {
        var audio = AudioTransform()
        audio.sampleRate = settings.audioSampleRate
        audio.melBins = melBins
        audio.frames = audioFrames
        audio.mean = Float(settings.audioMean)
        audio.std = Float(settings.audioStd)
        if training { audio.augmentation = settings.audioAugment.augmentation }
        return audio
    }

    /// The built-in synthetic dataset at the model's image size (its content does not depend on `--seed`).
    public var synthetic: SyntheticShapes {
        SyntheticShapes(seed: 0, imageSize: imageSize, trainCount: settings.trainNumSamples ?? 10_000,
                        valCount: settings.valNumSamples ?? 1_000)
    }

    public func sourceOptions(data: String?, split: SyntheticShapes.Split) throws -> DataSourceOptions {
        guard let type = DataSourceOptions.DatasetType(rawValue: settings.datasetType.rawValue) else {
            throw TrainingError("--dataset-type \(settings.datasetType.rawValue) reads no data files")
        }
        let separator = settings.csvSeparator == "\\t" ? "\t" : settings.csvSeparator
        var options = DataSourceOptions(datasetType: type, data: data, csvImageKey: settings.csvImgKey, csvCaptionKey: settings.csvCaptionKey,
                                        csvSeparator: separator, synthetic: synthetic, syntheticSplit: split, fields: fields,
                                        csvKeys: [.label: settings.csvLabelKey, .labels: settings.csvLabelsKey, .audio: settings.csvAudioKey])
        options.skipIncomplete = skipIncomplete
        return options
    }

    /// The tokenizer: OpenCLIP's CLIP BPE for 49,408-id models, otherwise a BPE vocabulary trained on the
    /// captions (saved as `tokenizer.json` in the run folder and reused on resume).
    public func tokenizer() throws -> TextTokenizer {
        let kind = settings.tokenizer == .auto ? (vocabularySize == 49_408 ? .clipBPE : .builtin) : settings.tokenizer
        switch kind {
        case .clipBPE:
            let merges = settings.merges ?? Self.defaultMergesFile
            guard FileManager.default.fileExists(atPath: merges) else {
                throw TrainingError("\(merges): CLIP BPE merges file not found (pass --merges bpe_simple_vocab_16e6.txt.gz)")
            }
            let tokenizer = try CLIPBPETokenizer(mergesFile: merges)
            guard tokenizer.vocabularySize <= vocabularySize else {
                throw TrainingError("tokenizer has \(tokenizer.vocabularySize) ids but the model's vocab_size is \(vocabularySize)")
            }
            return tokenizer
        case .builtin, .auto:
            let path = runDirectory + "/tokenizer.json"
            let tokenizer: TrainedBPETokenizer
            if FileManager.default.fileExists(atPath: path) {
                tokenizer = try TrainedBPETokenizer(contentsOf: path)
            } else {
                tokenizer = try BPETrainer.train(corpus: try captionCorpus(limit: 20_000), vocabularySize: vocabularySize)
            }
            try tokenizer.check(fitsModelVocabulary: vocabularySize)
            return tokenizer
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
        let source = try trainingSource()
        let count = min(try source.sampleCount(), limit)
        var corpus: [String] = []
        for id in 0..<count { if let sample = try? source.load(id: id) { corpus.append(sample.caption) } }
        if let task = try? zeroShotTask() {
            for c in task.classNames.indices { corpus += task.prompts(forClass: c) }
        }
        return corpus
    }

    /// The training split (`--train-data`, or the synthetic training split), for evaluations that compare with it.
    public func trainingSource() throws -> SampleSource {
        try sourceOptions(data: settings.trainData, split: .train).makeSource()
    }

    /// The zero-shot task: `--zeroshot-data` (image folder), or the synthetic validation split for synthetic data.
    public func zeroShotTask() throws -> ZeroShotTask? {
        if let folder = settings.zeroshotData { return ZeroShotTask(folder: try ZeroShotFolder(root: folder)) }
        if try sourceOptions(data: settings.trainData, split: .train).resolvedType == .synthetic { return synthetic.zeroShotTask() }
        return nil
    }

    /// The retrieval/validation-loss set: `--val-data`, or the synthetic validation split for synthetic data. WebDataset
    /// samples also carry `optionalFields` (empty bytes where a sample has none).
    public func validationSource(optionalFields: [SampleField] = []) throws -> SampleSource? {
        if let val = settings.valData {
            var options = try sourceOptions(data: val, split: .val)
            options.optionalFields = optionalFields
            return try options.makeSource()
        }
        if try sourceOptions(data: settings.trainData, split: .train).resolvedType == .synthetic { return synthetic.source(.val, audio: fields.contains(.audio)) }
        return nil
    }

    /// The repository's copy of OpenCLIP's merges file.
    static var defaultMergesFile: String {
        let candidates = [FileManager.default.currentDirectoryPath + "/vocab/bpe_simple_vocab_16e6.txt.gz"]
            + ModelConfigFiles.searchPaths.map { $0 + "/../../vocab/bpe_simple_vocab_16e6.txt.gz" }
        return candidates.first { FileManager.default.fileExists(atPath: $0) } ?? candidates[0]
    }
}

/// Training batches from the data pipeline's loader, epoch after epoch, starting anywhere (resume): the `image`
/// field as `[B, 3, size, size]` and the `text` field as token rows.
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

    public func next() throws -> TaskBatch {
        if loader == nil { try open(epoch: 0, start: 0) }
        var result = try loader!.next()
        if result == nil {
            try open(epoch: epoch + 1, start: 0)
            result = try loader!.next()
        }
        guard let (batch, wait) = result else { throw TrainingError("the data source yields no full global batch (too few samples for --batch-size × ranks)") }
        skipped += batch.skipped
        return Self.taskBatch(batch, imageSize: imageSize, waitSeconds: wait)
    }

    /// Every image field as `[B, 3, size, size]`, every text field as token rows, every class-index field as one id per
    /// sample and every class-set field as one row per sample padded with -1 to the batch's largest set, each under its
    /// field's name, every audio field as `[B, 1, melBins, frames]` (the encoder's one-channel image). Raw bytes stay
    /// with the family's own conversion.
    public static func taskBatch(_ batch: Batch, imageSize: Int, waitSeconds: Double) -> TaskBatch {
        var task = TaskBatch(count: batch.count, waitSeconds: waitSeconds, keys: batch.keys)
        task.skipped = batch.skipped
        for (field, pixels) in batch.fields.images {
            task.tensors[field.name] = Tensor(shape: [batch.count, 3, imageSize, imageSize], values: pixels)
        }
        for (field, values) in batch.fields.spectrograms {
            task.tensors[field.name] = Tensor(shape: [batch.count, 1, batch.melBins, batch.audioFrames], values: values)
        }
        for (field, tokens) in batch.fields.tokens { task.integers[field.name] = tokens }
        for (field, labels) in batch.fields.labels { task.integers[field.name] = labels.map { Int32($0) } }
        for (field, sets) in batch.fields.labelSets {
            let width = max(sets.map(\.count).max() ?? 0, 1)
            task.integers[field.name] = sets.flatMap { set in set.map { Int32($0) } + [Int32](repeating: -1, count: width - set.count) }
        }
        return task
    }
}
