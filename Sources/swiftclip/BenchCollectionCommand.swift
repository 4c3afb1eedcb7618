import ArgumentParser
import Foundation
import Retrieval

/// `swiftclip bench-collection`: a large embeddings folder for the serving benchmark, grown from a real one.
struct BenchCollectionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-collection",
        abstract: "Extend an embeddings folder with synthetic clustered rows (for index and server load tests).",
        discussion: "The real rows come first (their images and captions still work); synthetic rows are unit vectors drawn around --clusters random directions.")

    @Option(name: .long, help: "Embeddings folder to start from (swiftclip embed --output).") var embeddings: String
    @Option(name: .long, help: "Output folder.") var output: String
    @Option(name: .long, help: "Rows of the output, real ones included.") var rows = 100_000
    @Option(name: .long, help: "Directions the synthetic rows are drawn around.") var clusters = 1_000

    func validate() throws {
        guard rows >= 1, clusters >= 1 else { throw ValidationError("--rows and --clusters must be positive") }
    }

    func run() throws {
        try reportingErrors("bench-collection") {
            try SyntheticCollection(rows: rows, clusters: clusters).write(extending: embeddings, to: output)
            print("swiftclip bench-collection: \(rows) rows in \(output)")
        }
    }
}
