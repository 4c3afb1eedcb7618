import ArgumentParser
import Foundation
import Retrieval
import Training

/// `swiftclip eval`: zero-shot and retrieval metrics of a checkpoint.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a checkpoint of any family with its evaluation (CLIP: zero-shot top-1/top-5 and retrieval R@1/5/10, mean/median rank, clip_val_loss; CoCa: these and val_bleu1-4, val_cider, val_generative_loss; fusion: val_accuracy, val_top5, val_macro_f1 and the confusion matrix, or val_map, val_map_micro, val_macro_f1 and per-class AP for --multi-label, each also without each modality).",
        discussion: """
        Data flags default to the ones the checkpoint's run was trained with (synthetic runs evaluate on the synthetic validation split). \
        With --index, evaluates text-to-image retrieval through a search index instead: the captions of the embeddings folder it was \
        built from (swiftclip embed of the validation data) are embedded and searched: text_to_image_R@1/5/10 and mAP@k.
        """)

    @Option(name: .long, help: "Checkpoint file, or a run's checkpoints/ folder (its newest checkpoint that verifies).") var checkpoint: String
    @Option(name: .long, help: "Zero-shot image folder (one subfolder per class, optional classnames.txt, templates.txt).") var zeroshotData: String?
    @Option(name: .long, help: "Validation data for retrieval (shards or CSV).") var valData: String?
    @Option(name: .long, help: "synthetic, webdataset, csv or auto.") var datasetType: String?
    @Option(name: .long, help: "Validation samples (synthetic).") var valNumSamples: Int?
    @Option(name: .long, help: "CLIP BPE merges file for 49,408-id models.") var merges: String?
    @Option(name: .long, help: "Trained tokenizer JSON (default: tokenizer.json of the checkpoint's run).") var tokenizerFile: String?
    @Option(name: .long, help: "Search index (swiftclip index) of the validation data's embeddings: evaluate retrieval through it.") var index: String?
    @Option(name: .long, help: "With --index: the embeddings folder (default: the one the index records).") var embeddings: String?
    @Option(name: .long, help: "With --index: the cut-off of mAP@k.") var k = 10
    @Flag(name: .long, help: "Also print the metrics as one JSON object on the last line.") var json = false

    func validate() throws {
        guard k >= 1 else { throw ValidationError("--k must be at least 1") }
        if index == nil && embeddings != nil { throw ValidationError("--embeddings needs --index") }
    }

    func run() throws {
        try reportingErrors("eval") {
            let overrides = [("zeroshot-data", zeroshotData), ("val-data", valData), ("dataset-type", datasetType),
                             ("val-num-samples", valNumSamples.map(String.init)), ("merges", merges)].compactMap { name, value in value.map { (name, $0) } }
            let metrics: [String: Double]
            var tables: [String: [[Double]]] = [:]
            if let index {
                let model = try loadEmbeddingModel(checkpoint: checkpoint, merges: merges, command: "eval")
                let searchIndex = try SearchIndex.load(index, model: model.identity)
                metrics = try IndexEvaluation(k: k).run(index: searchIndex, model: model, embeddings: embeddings)
                print("\(searchIndex.header.kind) index of \(searchIndex.header.count) items; nDCG@\(k): not reported (relevance is binary: same caption or not)")
            } else {
                (metrics, tables) = try CheckpointEvaluation(checkpoint: checkpoint, overrides: overrides, tokenizerFile: tokenizerFile).run()
            }
            for key in metrics.keys.sorted() { print(String(format: "%-28@ %.4f", key as NSString, metrics[key]!)) }
            for name in tables.keys.sorted() {
                print(name + ":")
                for row in tables[name]! { print("  " + row.map { $0 == $0.rounded() ? String(format: "%6.0f", $0) : String(format: "%6.3f", $0) }.joined(separator: " ")) }
            }
            if metrics.isEmpty { print("no evaluation data: pass --zeroshot-data or --val-data") }
            if json {
                var object: [String: Any] = metrics
                for (name, rows) in tables { object[name] = rows }
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            }
        }
    }
}
