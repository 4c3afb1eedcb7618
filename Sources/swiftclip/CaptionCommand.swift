import ArgumentParser
import Foundation
import CoCa
import Training

/// `swiftclip caption`: one caption per image by a CoCa checkpoint.
struct CaptionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caption",
        abstract: "Caption images (--images) or samples (--data) with a CoCa checkpoint: greedy, beam search (--num-beams) or top-k/top-p sampling, decoding with key/value caches.")

    @Option(name: .long, help: "Checkpoint file, or a run's checkpoints/ folder (its newest checkpoint that verifies).") var checkpoint: String
    @Option(name: .long, help: "Folder of images (PNG, JPEG, WebP; subfolders included).") var images: String?
    @Option(name: .long, help: "WebDataset shards or CSV files (brace patterns, '::' joins) instead of --images; rows are named by sample key.") var data: String?
    @Option(name: .long, help: "Beams of the beam search; 1 is greedy.") var numBeams = 1
    @Option(name: .long, help: "Minimum caption length in tokens, start token included (the end token is banned before).") var minLength = 5
    @Option(name: .long, help: "Maximum caption length in tokens, start and end tokens included (at most the model's text context length + 1; default 20 or that).") var maxLength: Int?
    @Option(name: .long, help: "Sample each token from the k most likely (OpenCLIP's top_k generation) instead of greedy or beams.") var topK: Int?
    @Option(name: .long, help: "Sample each token from the most likely ones whose probabilities sum past p (OpenCLIP's top_p generation).") var topP: Double?
    @Option(name: .long, help: "Seed of --top-k / --top-p sampling (the same seed gives the same captions).") var seed: UInt64 = 0
    @Option(name: .long, help: "transformers' repetition_penalty: logits of tokens already in the caption divided (positive) or multiplied (negative) by it; 1 is none.") var repetitionPenalty: Float = 1
    @Option(name: .long, help: "Beam search: a caption scores its summed logits over length^this (transformers' length_penalty; OpenCLIP's 1).") var lengthPenalty: Float = 1
    @Flag(name: .long, help: "Print one JSON array of {image, caption} objects instead of tab-separated lines.") var json = false

    func run() throws {
        try reportingErrors("caption") {
            guard numBeams >= 1 else { throw ValidationError("--num-beams must be at least 1, got \(numBeams)") }
            guard minLength >= 1 else { throw ValidationError("--min-length must be at least 1, got \(minLength)") }
            if let maxLength, maxLength < minLength || maxLength < 2 {
                throw ValidationError("--max-length \(maxLength) is below --min-length \(minLength) (or below 2)")
            }
            guard (images == nil) != (data == nil) else { throw ValidationError("give one of --images DIR and --data SHARDS") }
            guard repetitionPenalty > 0 else { throw ValidationError("--repetition-penalty must be positive, got \(repetitionPenalty)") }
            guard lengthPenalty.isFinite else { throw ValidationError("--length-penalty must be a number, got \(lengthPenalty)") }
            let sampling = try samplingOptions()
            let captioning = try CheckpointCaptioning(checkpoint: checkpoint, minLength: minLength, maxLength: maxLength,
                                                      repetitionPenalty: repetitionPenalty, lengthPenalty: lengthPenalty,
                                                      messages: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
            let captioned: [(name: String, caption: String)]
            if let images {
                let files = try CheckpointCaptioning.imageFiles(in: images)
                captioned = try captioning.captions(of: files, beams: numBeams, sampling: sampling).map { (name: $0.key, caption: $0.caption) }
            } else {
                captioned = try captioning.captions(ofData: data!, beams: numBeams, sampling: sampling).map { (name: $0.key, caption: $0.caption) }
            }
            if json {
                let objects = captioned.map { ["image": $0.name, "caption": $0.caption] }
                print(String(decoding: try JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys]), as: UTF8.self))
            } else {
                for (name, caption) in captioned { print("\(name)\t\(caption)") }
            }
        }
    }

    /// The sampling `--top-k` or `--top-p` asks for (nil: greedy or beams); both, or either with beams, is an error.
    func samplingOptions() throws -> CaptionSampling? {
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1, got \(topK)") }
        if let topP, !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1], got \(topP)") }
        guard topK == nil || topP == nil else { throw ValidationError("give one of --top-k and --top-p") }
        let filter: CaptionSampling.Filter? = topK.map { .topK($0) } ?? topP.map { .topP($0) }
        guard let filter else { return nil }
        guard numBeams == 1 else { throw ValidationError("--top-k / --top-p sample without beams: drop --num-beams \(numBeams)") }
        return CaptionSampling(filter: filter, seed: seed)
    }
}
