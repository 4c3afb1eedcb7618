import ArgumentParser
import CoCa
import Foundation
import TensorCore
import Training
import TrainingKit

/// `swiftclip bench-caption`: times CoCa caption generation of random images (Benchmarks/caption.sh).
struct BenchCaptionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-caption",
        abstract: "Time CoCa caption generation (greedy or beam search) of a batch of random images with a fresh model.",
        discussion: "The end token is banned below --min-length, so every caption has the same length. --json adds one JSON object on the last line.")

    @Option(name: .long, help: "CoCa model name (cluster-configs/models) or config JSON path.") var model = "coca-small"
    @Option(name: .long, help: "Images per batch.") var batchSize = 16
    @Option(name: .long, help: "1: greedy; K > 1: beam search with K beams.") var numBeams = 1
    @Option(name: .long, help: "Caption length in tokens, start token included.") var maxLength = 20
    @Option(name: .long, help: "The end token is banned below this length.") var minLength = 19
    @Option(name: .long, help: "Timed batches.") var steps = 3
    @Option(name: .long, help: "Untimed batches first.") var warmup = 1
    @Flag(name: .long, help: "Print one JSON object on the last line.") var json = false

    func run() throws {
        try reportingErrors("bench-caption") {
            guard numBeams > 0 else { throw ValidationError("--num-beams must be positive, got \(numBeams)") }
            guard batchSize > 0, steps > 0, warmup >= 0 else { throw ValidationError("--batch-size and --steps must be positive") }
            let config = try CoCaConfig.load(try ModelConfigFiles.path(model))
            guard minLength <= maxLength, maxLength <= config.text.contextLength + 1 else {
                throw ValidationError("--max-length must be in --min-length...\(config.text.contextLength + 1) (the text context + 1)")
            }
            let timer = CaptionTimer(model: CoCaModel(config: config), batch: batchSize, beams: numBeams, maxLength: maxLength, minLength: minLength)
            let m = timer.run(steps: steps, warmup: warmup)
            let peakMB = Double(m.peakResidentBytes) / 1_048_576
            print(String(format: "%@ %@, batch %d, %d tokens, BLAS threads %d: %.3f s per batch, %.1f captions/s, peak RSS %.0f MB",
                         model, numBeams == 1 ? "greedy" : "\(numBeams) beams", batchSize, maxLength, BLAS.threads, m.secondsPerBatch,
                         m.captionsPerSecond, peakMB))
            if json {
                let object: [String: Any] = ["model": model, "batch": batchSize, "num_beams": numBeams, "tokens": m.tokenCounts,
                                             "seconds_per_batch": m.secondsPerBatch, "captions_per_s": m.captionsPerSecond, "peak_rss_mb": peakMB]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            }
        }
    }
}
