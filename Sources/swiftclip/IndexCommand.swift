import ArgumentParser
import Foundation
import Retrieval

/// `swiftclip index`: a search index of an embeddings folder written by `swiftclip embed`.
struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Build an exact (flat) or approximate (IVF-flat) inner-product index of an embeddings folder.",
        discussion: "auto builds the flat index below --flat-threshold vectors and IVF-flat from there, reporting its recall@10 against exact search. See docs/retrieval.md.")

    @Option(name: .long, help: "Embeddings folder (swiftclip embed --output).") var embeddings: String
    @Option(name: .long, help: "Index file to write.") var output: String
    @Option(name: .long, help: "auto, flat or approx.") var kind = "auto"
    @Option(name: .long, help: "Vectors from which auto builds the approximate index.") var flatThreshold = 50_000
    @Option(name: .long, help: "IVF lists (default: about 4·√vectors).") var lists: Int?
    @Option(name: .long, help: "Recall@10 the approximate index's nprobe is raised to reach.") var targetRecall = 0.95

    func validate() throws {
        guard IndexBuilder.Kind(rawValue: kind) != nil else { throw ValidationError("--kind must be auto, flat or approx, got \(kind)") }
        if let lists, lists < 1 { throw ValidationError("--lists must be positive") }
    }

    func run() throws {
        try reportingErrors("index") {
            let builder = IndexBuilder(kind: IndexBuilder.Kind(rawValue: kind)!, flatThreshold: flatThreshold, lists: lists, targetRecall: targetRecall)
            let index = try builder.build(embeddings: embeddings)
            try index.write(to: output)
            let header = index.header
            var line = "swiftclip index: \(header.kind) index of \(header.count) vectors (dimension \(header.dimension)) in \(output)"
            if let lists = header.lists, let nprobe = header.nprobe, let recall = header.recallAt10 {
                line += String(format: "; %d lists, nprobe %d, recall@10 %.3f against exact search", lists, nprobe, recall)
            }
            print(line)
        }
    }
}
