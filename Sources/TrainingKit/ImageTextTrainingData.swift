import DataPipeline
import Foundation
import Text

extension DataSetup {
    /// Training batches of images (`image`) and token rows (`text`) for this rank: generated ones for
    /// `--dataset-type random`, else the loader over `--train-data` with the tokenizer (a trained one is saved in the run
    /// folder by rank 0). Also returns a trained tokenizer's JSON, which the family records in checkpoints.
    public func imageTextTrainingData(_ context: RunContext) throws -> (source: TrainingDataSource, trainedTokenizerJSON: String?) {
        let s = context.settings
        if s.datasetType == .random {
            let source = RandomDataSource(imageSize: imageSize, contextLength: contextLength, vocabularySize: vocabularySize,
                                          batchPerRank: s.batchSize, rank: context.rank, worldSize: context.worldSize,
                                          samplesPerEpoch: s.trainNumSamples ?? s.batchSize * context.worldSize * 100, seed: s.seed)
            return (source, nil)
        }
        let tokenizer = try self.tokenizer()
        if context.rank == 0 {
            try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
            try saveTokenizer(tokenizer)
        }
        let json = try (tokenizer as? TrainedBPETokenizer).map { String(decoding: try $0.jsonData(), as: UTF8.self) }
        let source = try sourceOptions(data: s.trainData, split: .train).makeSource()
        let options = LoaderOptions(mode: .training, batchSize: s.batchSize, worldSize: context.worldSize, rank: context.rank, seed: s.seed,
                                    epochLength: s.trainNumSamples, transform: s.augCfg.config.trainingTransform(size: imageSize),
                                    contextLength: contextLength, workers: s.workers, fields: fields,
                                    audio: audioTransform(training: true))
        return (try LoaderDataSource(source: source, tokenizer: tokenizer, options: options, imageSize: imageSize), json)
    }
}
