import ArgumentParser
import Foundation
import Training

/// `swiftclip eval`: zero-shot and retrieval metrics of a checkpoint.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a checkpoint of any family with its evaluation (CLIP: zero-shot top-1/top-5 and retrieval R@1/5/10, mean/median rank, clip_val_loss; CoCa: these and val_bleu1-4, val_cider, val_generative_loss).",
        discussion: "Data flags default to the ones the checkpoint's run was trained with (synthetic runs evaluate on the synthetic validation split).")

    @Option(name: .long, help: "Checkpoint file, or a run's checkpoints/ folder (its newest checkpoint that verifies).") var checkpoint: String
    @Option(name: .long, help: "Zero-shot image folder (one subfolder per class, optional classnames.txt, templates.txt).") var zeroshotData: String?
    @Option(name: .long, help: "Validation data for retrieval (shards or CSV).") var valData: String?
    @Option(name: .long, help: "synthetic, webdataset, csv or auto.") var datasetType: String?
    @Option(name: .long, help: "Validation samples (synthetic).") var valNumSamples: Int?
    @Option(name: .long, help: "CLIP BPE merges file for 49,408-id models.") var merges: String?
    @Option(name: .long, help: "Trained tokenizer JSON (default: tokenizer.json of the checkpoint's run).") var tokenizerFile: String?
    @Flag(name: .long, help: "Also print the metrics as one JSON object on the last line.") var json = false

    func run() throws {
        try reportingErrors("eval") {
            let overrides = [("zeroshot-data", zeroshotData), ("val-data", valData), ("dataset-type", datasetType),
                             ("val-num-samples", valNumSamples.map(String.init)), ("merges", merges)].compactMap { name, value in value.map { (name, $0) } }
            let metrics = try CheckpointEvaluation(checkpoint: checkpoint, overrides: overrides, tokenizerFile: tokenizerFile).run()
            for key in metrics.keys.sorted() { print(String(format: "%-28@ %.4f", key as NSString, metrics[key]!)) }
            if metrics.isEmpty { print("no evaluation data: pass --zeroshot-data or --val-data") }
            if json {
                let data = try JSONSerialization.data(withJSONObject: metrics, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            }
        }
    }
}
