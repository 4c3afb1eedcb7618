import CLIP
import DataPipeline
import Foundation
import Text

/// Evaluates a checkpoint with the data its run used unless told otherwise (`swiftclip eval`).
public struct CheckpointEvaluation {
    public var checkpoint: String
    public var zeroshotData: String?, valData: String?, datasetType: String?
    public var valNumSamples: Int?
    public var merges: String?, tokenizerFile: String?

    public init(checkpoint: String, zeroshotData: String?, valData: String?, datasetType: String?, valNumSamples: Int?,
                merges: String?, tokenizerFile: String?) {
        self.checkpoint = checkpoint; self.zeroshotData = zeroshotData; self.valData = valData; self.datasetType = datasetType
        self.valNumSamples = valNumSamples; self.merges = merges; self.tokenizerFile = tokenizerFile
    }

    public func run() throws -> [String: Double] {
        var messages: [String] = []
        guard let loaded = try RunCheckpoints.load(checkpoint, runCheckpoints: checkpoint, messages: { messages.append($0) }) else {
            throw TrainingError("\(checkpoint): no checkpoint found")
        }
        for m in messages { FileHandle.standardError.write(Data("swiftclip eval: \(m)\n".utf8)) }
        let metadata = try loaded.metadata(as: CheckpointMetadata.self)
        let model = CLIPModel(config: metadata.model)
        _ = try RunCheckpoints.restore(loaded, into: model)

        var configuration = metadata.state.configuration ?? TrainingConfiguration()
        if let zeroshotData { configuration.zeroshotData = zeroshotData }
        if let valData { configuration.valData = valData }
        if let datasetType { configuration.datasetType = datasetType }
        if let valNumSamples { configuration.valNumSamples = valNumSamples }
        if let merges { configuration.merges = merges }
        // The run folder is the checkpoint's folder's parent (LOGS/NAME/checkpoints/step-N.sclip).
        let runDirectory = loaded.url.deletingLastPathComponent().deletingLastPathComponent().path
        let setup = DataSetup(configuration: configuration, model: metadata.model, runDirectory: runDirectory)
        let tokenizer: TextTokenizer
        if let tokenizerFile {
            tokenizer = try TrainedBPETokenizer(contentsOf: tokenizerFile)
        } else if let recorded = metadata.tokenizer {
            tokenizer = try TrainedBPETokenizer(jsonData: Data(recorded.utf8), source: loaded.url.path)
        } else {
            tokenizer = try setup.tokenizer()
        }
        let evaluator = Evaluator(tokenizer: tokenizer, zeroShot: try setup.zeroShotTask(), validation: try setup.validationSource())
        return try evaluator.evaluate(model)
    }
}
