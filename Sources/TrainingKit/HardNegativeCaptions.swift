import Foundation

/// A `--hard-negatives` file: per training sample, captions that must not match its image (NegCLIP's hard negatives).
///
/// JSON Lines, one object per line: `{"key": "train-000.tar:000123", "texts": ["...", ...]}`. `key` is the sample's key
/// as the training data names it (a WebDataset shard's file name, `:`, the member key; a CSV row's image cell);
/// `texts` are its negative captions in order of preference (a run uses the first `--hard-negatives-per-sample`).
/// Other members are ignored; blank lines are skipped; a key may appear once. Samples without a line have no mined
/// negatives. `swiftclip hard-negatives` writes such files.
public struct HardNegativeCaptions {
    public let path: String
    /// Negative captions by sample key.
    public private(set) var texts: [String: [String]] = [:]
    /// The line of each key, for errors that name it.
    private var lines: [String: Int] = [:]

    /// Reads and checks the file; a malformed line is an error naming the file and the line.
    public init(contentsOf path: String) throws {
        self.path = path
        guard let data = FileManager.default.contents(atPath: path) else { throw TrainingError("\(path): cannot read the hard-negatives file") }
        for (index, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            guard !line.allSatisfy(\.isWhitespace) else { continue }
            func fail(_ problem: String) -> TrainingError { TrainingError("\(path):\(number): \(problem)") }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw fail("not a JSON object (expected {\"key\": \"...\", \"texts\": [\"...\"]})")
            }
            guard let key = object["key"] as? String, !key.isEmpty else { throw fail("no \"key\" string") }
            guard let negatives = object["texts"] as? [String] else { throw fail("\"texts\" of \(key) is not a list of strings") }
            if let empty = negatives.firstIndex(where: { $0.allSatisfy(\.isWhitespace) }) { throw fail("text \(empty) of \(key) is empty") }
            if let first = lines[key] { throw fail("key \(key) again (first on line \(first))") }
            texts[key] = negatives
            lines[key] = number
        }
    }

    /// Every key must name a sample of the training data; the first that does not is an error naming its line.
    public func checkKeys(known: Set<String>) throws {
        if let (key, line) = lines.filter({ !known.contains($0.key) }).min(by: { $0.value < $1.value }) {
            throw TrainingError("\(path):\(line): key \(key) is not a sample of the training data")
        }
    }

    /// Writes entries as the file format (keys in the given order; an entry without texts is left out); atomically.
    public static func write(_ entries: [(key: String, texts: [String])], to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var out = Data()
        for entry in entries where !entry.texts.isEmpty {
            out += try encoder.encode(Line(key: entry.key, texts: entry.texts))
            out += Data("\n".utf8)
        }
        do { try out.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw TrainingError("\(path): cannot write the hard-negatives file (\(error.localizedDescription))")
        }
    }

    private struct Line: Encodable { let key: String, texts: [String] }
}
