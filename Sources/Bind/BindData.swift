import DataPipeline
import Foundation
import TrainingKit

extension BindTask {
    /// Images and recordings: the only fields training reads (a `.txt` member is never used).
    static let trainingFields: [SampleField] = [.image, .audio]

    func dataSetup(_ context: RunContext) -> DataSetup { dataSetup(settings: context.settings, runDirectory: context.runDirectory) }

    func dataSetup(settings: Settings, runDirectory: String) -> DataSetup {
        var setup = DataSetup(settings: settings, imageSize: model.config.vision.imageSize, contextLength: model.config.text.contextLength,
                              vocabularySize: model.config.text.vocabSize, runDirectory: runDirectory, fields: Self.trainingFields)
        setup.skipIncomplete = true
        (setup.melBins, setup.audioFrames) = (model.config.audio.melBins, model.config.audio.frames)
        return setup
    }

    /// How evaluation turns recordings into the audio tower's input under `settings` (a run's recorded ones: its sample
    /// rate, filter-bank mean and std), as `embed` must to land in the space the tower was trained in.
    public func evaluationAudio(settings: Settings) -> AudioTransform {
        dataSetup(settings: settings, runDirectory: ".").audioTransform(training: false)
    }

    public func trainingData(_ context: RunContext) throws -> TrainingDataSource {
        let s = context.settings
        guard s.datasetType != .random else { throw TrainingError("--task bind reads image-audio pairs; --dataset-type random has none") }
        let setup = dataSetup(context)
        let imageSize = model.config.vision.imageSize
        var options = LoaderOptions(mode: .training, batchSize: s.batchSize, worldSize: context.worldSize, rank: context.rank, seed: s.seed,
                                    epochLength: s.trainNumSamples, transform: s.augCfg.config.trainingTransform(size: imageSize),
                                    contextLength: model.config.text.contextLength, workers: s.workers, fields: Self.trainingFields,
                                    audio: setup.audioTransform(training: true))
        let source = try setup.sourceOptions(data: s.trainData, split: .train).makeSource()
        return try LoaderDataSource(source: source, tokenizer: try tokenizer(setup), options: options, imageSize: imageSize)
    }

    /// Retrieval on `--val-data` (captions and classes read when the shards have them), zero-shot classes from
    /// `--zeroshot-data`'s class names and templates.
    public func evaluation(_ context: RunContext) throws -> TaskEvaluation? {
        let s = context.settings
        guard s.valData != nil else { return nil }
        let setup = dataSetup(context)
        guard let validation = try setup.validationSource(optionalFields: [BindEvaluation.caption, BindEvaluation.label]) else { return nil }
        let options = LoaderOptions(mode: .evaluation, batchSize: min(s.batchSize, 256),
                                    transform: ImageTransform(mode: .eval, size: model.config.vision.imageSize),
                                    contextLength: model.config.text.contextLength, workers: s.workers,
                                    audio: setup.audioTransform(training: false))
        let classes = try s.zeroshotData.map { ZeroShotTask(folder: try ZeroShotFolder(root: $0)) }
        return BindEvaluation(model: model, tokenizer: try tokenizer(setup), validation: validation, classes: classes, loaderOptions: options,
                              settings: s)
    }
}
