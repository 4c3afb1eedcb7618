import ArgumentParser
import DataPipeline
import Foundation
import Text

/// `swiftclip tokenize`: prints the token ids of captions, one line per caption.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of each TEXT (CLIP BPE merges file or a trained tokenizer JSON).")

    @Option(name: .long, help: "CLIP merges file, e.g. vocab/bpe_simple_vocab_16e6.txt.gz.")
    var merges: String?

    @Option(name: .long, help: "Tokenizer JSON written by 'swiftclip tokenizer train' (instead of --merges).")
    var trained: String?

    @Option(name: .long, help: "Row length including the start and end tokens.")
    var contextLength = CLIPBPETokenizer.defaultContextLength

    @Flag(name: .long, help: "Print the full zero-padded row instead of the ids up to the end token.")
    var padded = false

    @Argument(help: "Captions to tokenize.")
    var texts: [String]

    func validate() throws {
        guard (merges == nil) != (trained == nil) else { throw ValidationError("give exactly one of --merges or --trained") }
        guard contextLength >= 2 else { throw ValidationError("--context-length must be at least 2 (start and end tokens)") }
    }

    func run() throws {
        let encode: (String) -> [Int32]
        if let merges {
            let tokenizer = try CLIPBPETokenizer(mergesFile: merges)
            encode = { padded ? tokenizer.encode($0, contextLength: contextLength) : tokenizer.encodeUnpadded($0, contextLength: contextLength) }
        } else {
            let tokenizer = try TrainedBPETokenizer(contentsOf: trained!)
            encode = { padded ? tokenizer.encode($0, contextLength: contextLength) : tokenizer.encodeUnpadded($0, contextLength: contextLength) }
        }
        for text in texts { print(encode(text).map(String.init).joined(separator: " ")) }
    }
}

/// `swiftclip tokenizer`: tools for the project's own BPE tokenizers.
struct TokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Train byte-level BPE tokenizers for small text vocabularies.",
        subcommands: [TokenizerTrainCommand.self])
}

/// `swiftclip tokenizer train`: learns merges from a caption corpus and writes the tokenizer JSON.
struct TokenizerTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a BPE tokenizer on captions (one per line, or the \"text\"/\"caption\" field of JSON lines).")

    @Option(name: .long, help: "Caption corpus: a text file with one caption per line, or a .jsonl file.")
    var corpus: String

    @Option(name: .long, help: "Total ids including padding 0, start (N-2) and end (N-1); the model's vocab_size.")
    var vocabSize: Int

    @Option(name: .long, help: "Where to write the tokenizer JSON.")
    var output: String

    func run() throws {
        let captions = try CaptionCorpusReader.read(path: corpus)
        let start = Date()
        let tokenizer = try BPETrainer.train(corpus: captions, vocabularySize: vocabSize)
        try tokenizer.save(to: output)
        let seconds = Date().timeIntervalSince(start)
        print("trained \(tokenizer.merges.count) merges on \(captions.count) captions in "
              + String(format: "%.2f", seconds) + " s; vocabulary \(tokenizer.vocabularySize) ids "
              + "(start \(tokenizer.startOfTextID), end \(tokenizer.endOfTextID)); wrote \(output)")
    }
}

/// Reads captions for tokenizer training.
enum CaptionCorpusReader {
    struct Failure: Error, CustomStringConvertible { let description: String }

    static func read(path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(description: "\(path): cannot read the caption corpus")
        }
        // Split on bytes: as Characters, "\r\n" would be one grapheme and never equal "\n".
        var lines: [(number: Int, text: String)] = []
        for (index, rawLine) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.last == UInt8(ascii: "\r") ? rawLine.dropLast() : rawLine
            guard let text = String(validating: line, as: UTF8.self) else {
                throw Failure(description: "\(path): line \(index + 1) is not valid UTF-8")
            }
            if !text.isEmpty { lines.append((index + 1, text)) }
        }
        guard path.hasSuffix(".jsonl") else { return lines.map(\.text) }
        return try lines.map { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.text.utf8)) as? [String: Any],
                  let caption = (object["text"] ?? object["caption"]) as? String else {
                throw Failure(description: "\(path): line \(line.number) is not a JSON object with a \"text\" or \"caption\" string")
            }
            return caption
        }
    }
}
