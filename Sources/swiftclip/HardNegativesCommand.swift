import ArgumentParser
import DataPipeline
import Retrieval
import TrainingKit

extension HardNegativeMining.NearestKind: ExpressibleByArgument {}

/// `swiftclip hard-negatives`: writes a `--hard-negatives` file for a training data set.
struct HardNegativesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hard-negatives",
        abstract: "Write a --hard-negatives file (JSON Lines of {\"key\", \"texts\"} or {\"key\", \"images\"}) of mined negative captions or images for each training sample.")

    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case wordOrder = "word-order"
        case nearest
    }

    @Option(name: .long, help: "word-order: training data as --train-data names it (WebDataset shards with brace expansion, or a CSV file); none: the built-in synthetic shapes.")
    var data: String?

    @Option(name: .long, help: "nearest: a `swiftclip embed` folder of the training data with its captions (keys and captions are read from its metadata).")
    var embeddings: String?

    @Option(name: .long, help: "Data set type as training reads it: auto, webdataset, csv or synthetic.")
    var datasetType = "auto"

    @Option(name: .long, help: "The file to write.")
    var output: String

    @Option(name: .long, help: "word-order: NegCLIP's perturbations of the sample's own caption (two words swapped, trigrams shuffled, words shuffled within trigrams). nearest: the captions whose text embeddings score highest against the sample's image embedding, nearest first, never its own caption.")
    var mode: Mode = .wordOrder

    @Option(name: .long, help: "nearest: texts (the captions nearest each sample's image), images (the keys of the other samples whose images are nearest its caption, never one with the same caption) or both. word-order: texts only.")
    var kind: HardNegativeMining.NearestKind = .texts

    @Option(name: .long, help: "Negatives per sample, at most.")
    var count = 3

    @Option(name: .long, help: "word-order: seed of the perturbations (each sample's also depends on its key only).")
    var seed: UInt64 = 0

    func validate() throws {
        guard count > 0 else { throw ValidationError("--count must be positive") }
        guard DataSourceOptions.DatasetType(rawValue: datasetType) != nil else {
            throw ValidationError("--dataset-type must be auto, webdataset, csv or synthetic")
        }
        switch mode {
        case .wordOrder where embeddings != nil: throw ValidationError("--embeddings is read by --mode nearest only")
        case .nearest where embeddings == nil: throw ValidationError("--mode nearest needs --embeddings DIR (a swiftclip embed folder of the training data)")
        case .nearest where data != nil: throw ValidationError("--mode nearest reads keys and captions from --embeddings; drop --data")
        case .wordOrder where kind != .texts: throw ValidationError("--kind \(kind.rawValue) needs --mode nearest (word-order perturbs captions)")
        default: break
        }
    }

    func run() throws {
        try reportingErrors("hard-negatives") {
            let summary: HardNegativeMining.Summary
            switch mode {
            case .wordOrder:
                let source = try DataSourceOptions(datasetType: DataSourceOptions.DatasetType(rawValue: datasetType)!, data: data).makeSource()
                summary = try HardNegativeMining.wordOrder(source: source, perturbation: WordOrderPerturbation(seed: seed, count: count), output: output)
            case .nearest:
                summary = try HardNegativeMining.nearest(embeddings: embeddings!, count: count, kind: kind, output: output)
            }
            let what = switch kind {
            case .texts: "captions"
            case .images: "images"
            case .both: "captions and images"
            }
            print("\(output): \(summary.negatives) negative \(what) for \(summary.samplesWithNegatives) of \(summary.samples) samples (\(mode.rawValue))")
        }
    }
}
