import Foundation
import TrainingKit

/// Evaluates a checkpoint of any family with the data its run used, unless settings given here say otherwise
/// (`swiftclip eval`).
public struct CheckpointEvaluation {
    public var checkpoint: String
    /// Settings to change before evaluating (`--val-data`, `--zeroshot-data`, ...), as (name, text).
    public var overrides: [(String, String)]
    /// A trained tokenizer's JSON file to use instead of the one the checkpoint records.
    public var tokenizerFile: String?

    public init(checkpoint: String, overrides: [(String, String)], tokenizerFile: String?) {
        self.checkpoint = checkpoint
        self.overrides = overrides
        self.tokenizerFile = tokenizerFile
    }

    /// The metrics, and the tables the evaluation found (`TaskEvaluation.tables`).
    public func run() throws -> (metrics: [String: Double], tables: [String: [[Double]]]) {
        let loaded = try CheckpointModel(checkpoint) { FileHandle.standardError.write(Data("swiftclip eval: \($0)\n".utf8)) }
        var settings = loaded.settings
        for (name, text) in overrides { try Families.registry.apply(name, text, to: &settings) }
        if let tokenizerFile {
            guard let text = try? String(contentsOfFile: tokenizerFile, encoding: .utf8) else {
                throw TrainingError("\(tokenizerFile): cannot read the tokenizer file")
            }
            loaded.task.checkpointAttachment = text
        }
        let context = RunContext(settings: settings, runDirectory: loaded.runDirectory)
        guard let evaluation = try loaded.task.evaluation(context) else { return ([:], [:]) }
        let metrics = try evaluation.evaluate(due: nil)
        return (metrics, evaluation.tables)
    }
}
