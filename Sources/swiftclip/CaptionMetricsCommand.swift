import ArgumentParser
import CaptionMetrics

/// `swiftclip caption-metrics`: BLEU-1..4 and CIDEr-D of the corpora of a cases.json-format file.
struct CaptionMetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caption-metrics",
        abstract: "Print each corpus's BLEU-1..4 and CIDEr-D (as the COCO caption evaluation computes them) for a file in the format of Tests/Fixtures/caption-metrics/cases.json.",
        discussion: "Captions are normalised first: ASCII lower-case, every character outside [a-z0-9] a space, single spaces. CIDEr-D's document frequencies come from each corpus's own references.")

    @Argument(help: "JSON file: {\"corpora\": [{\"name\", \"images\": [{\"id\", \"refs_raw\" or \"refs\", \"candidate_raw\" or \"candidate\"}]}]}.")
    var file: String
    @Flag(name: .long, help: "Also print the scores as one JSON object on the last line (every digit).") var json = false
    @Flag(name: .long, help: "Also print each image's scores.") var perImage = false

    func run() throws {
        try reportingErrors("caption-metrics") {
            let corpora = try CaptionCorpusFile.score(path: file)
            print(CaptionMetricsReport.table(corpora, perImage: perImage))
            if json { print(try CaptionMetricsReport.json(file: file, corpora, perImage: perImage)) }
        }
    }
}
