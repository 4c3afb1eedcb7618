import Foundation

/// A `--hard-negatives` file: per training sample, captions that must not match its image and images (other training
/// samples) that must not match its caption (NegCLIP's hard negatives, and their image counterpart).
///
/// JSON Lines, one object per line: `{"key": "train-000.tar:000123", "texts": ["...", ...], "images": ["train-001.tar:000042", ...]}`.
/// `key` is the sample's key as the training data names it (a WebDataset shard's file name, `:`, the member key; a CSV
/// row's image cell); `texts` are its negative captions and `images` the keys of samples whose images are negatives of
/// its caption, each in order of preference (a run uses `--hard-negatives-per-sample` of them); a line has either or
/// both. Other members are ignored; blank lines are skipped; a key may appear once. Samples without a line have no mined
/// negatives. `swiftclip hard-negatives` writes such files.
public struct HardNegativeFile {
    public let path: String
    /// Negative captions by sample key.
    public private(set) var texts: [String: [String]] = [:]
    /// Keys of negative images by sample key.
    public private(set) var images: [String: [String]] = [:]
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
                throw fail("not a JSON object (expected {\"key\": \"...\", \"texts\": [\"...\"]} and/or \"images\": [\"KEY\"])")
            }
            guard let key = object["key"] as? String, !key.isEmpty else { throw fail("no \"key\" string") }
            guard object["texts"] != nil || object["images"] != nil else { throw fail("\(key) has neither \"texts\" nor \"images\"") }
            func strings(_ member: String, _ what: String) throws -> [String]? {
                guard let value = object[member] else { return nil }
                guard let list = value as? [String] else { throw fail("\"\(member)\" of \(key) is not a list of strings") }
                if let empty = list.firstIndex(where: { $0.allSatisfy(\.isWhitespace) }) { throw fail("\(what) \(empty) of \(key) is empty") }
                return list
            }
            let negativeTexts = try strings("texts", "text"), negativeImages = try strings("images", "image")
            if negativeImages?.contains(key) == true { throw fail("\(key) lists its own image as a negative") }
            if let first = lines[key] { throw fail("key \(key) again (first on line \(first))") }
            if let negativeTexts { texts[key] = negativeTexts }
            if let negativeImages { images[key] = negativeImages }
            lines[key] = number
        }
    }

    /// Whether any sample has negative captions, or negative images.
    public var hasTexts: Bool { texts.values.contains { !$0.isEmpty } }
    public var hasImages: Bool { images.values.contains { !$0.isEmpty } }

    /// Every key, and every image key, must name a sample of the training data; the first line with one that does not
    /// is an error naming it.
    public func checkKeys(known: Set<String>) throws {
        for (key, line) in lines.sorted(by: { $0.value < $1.value }) {
            guard known.contains(key) else { throw TrainingError("\(path):\(line): key \(key) is not a sample of the training data") }
            if let unknown = images[key]?.first(where: { !known.contains($0) }) {
                throw TrainingError("\(path):\(line): image \(unknown) of \(key) is not a sample of the training data")
            }
        }
    }

    /// One sample's line.
    public struct Entry: Encodable {
        public var key: String, texts: [String]?, images: [String]?

        public init(key: String, texts: [String]? = nil, images: [String]? = nil) {
            (self.key, self.texts, self.images) = (key, texts, images)
        }
    }

    /// Writes entries as the file format (keys in the given order; an entry without negatives is left out); atomically.
    public static func write(_ entries: [Entry], to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var out = Data()
        for entry in entries where !(entry.texts ?? []).isEmpty || !(entry.images ?? []).isEmpty {
            out += try encoder.encode(entry)
            out += Data("\n".utf8)
        }
        do { try out.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw TrainingError("\(path): cannot write the hard-negatives file (\(error.localizedDescription))")
        }
    }

    /// Writes negative captions only.
    public static func write(_ entries: [(key: String, texts: [String])], to path: String) throws {
        try write(entries.map { Entry(key: $0.key, texts: $0.texts) }, to: path)
    }
}
