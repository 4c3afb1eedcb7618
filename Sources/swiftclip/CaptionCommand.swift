import ArgumentParser
import Foundation
import Training

/// `swiftclip caption`: one caption per image by a CoCa checkpoint.
struct CaptionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caption",
        abstract: "Caption images with a CoCa checkpoint (greedy, or beam search with --num-beams), decoding with key/value caches.")

    @Option(name: .long, help: "Checkpoint file, or a run's checkpoints/ folder (its newest checkpoint that verifies).") var checkpoint: String
    @Option(name: .long, help: "Folder of images (PNG, JPEG, WebP; subfolders included).") var images: String
    @Option(name: .long, help: "Beams of the beam search; 1 is greedy.") var numBeams = 1
    @Option(name: .long, help: "Minimum caption length in tokens, start token included (the end token is banned before).") var minLength = 5
    @Option(name: .long, help: "Maximum caption length in tokens, start and end tokens included (at most the model's text context length + 1).") var maxLength = 20
    @Flag(name: .long, help: "Print one JSON array of {image, caption} objects instead of tab-separated lines.") var json = false

    func run() throws {
        try reportingErrors("caption") {
            guard numBeams >= 1 else { throw ValidationError("--num-beams must be at least 1, got \(numBeams)") }
            guard minLength >= 1 else { throw ValidationError("--min-length must be at least 1, got \(minLength)") }
            guard maxLength >= minLength, maxLength >= 2 else {
                throw ValidationError("--max-length \(maxLength) is below --min-length \(minLength) (or below 2)")
            }
            let files = try CheckpointCaptioning.imageFiles(in: images)
            let captioning = try CheckpointCaptioning(checkpoint: checkpoint, minLength: minLength, maxLength: maxLength,
                                                      messages: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
            let captions = try captioning.captions(of: files, beams: numBeams)
            if json {
                let objects = zip(files, captions).map { ["image": $0, "caption": $1] }
                print(String(decoding: try JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys]), as: UTF8.self))
            } else {
                for (file, caption) in zip(files, captions) { print("\(file)\t\(caption)") }
            }
        }
    }
}
