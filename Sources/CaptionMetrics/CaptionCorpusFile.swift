import Foundation

/// A named corpus; CIDEr-D scores each corpus on its own document frequencies.
public struct CaptionCorpus: Sendable {
    public var name: String
    public var examples: [CaptionExample]
}

/// Files in the format of `Tests/Fixtures/caption-metrics/cases.json`:
/// `{"corpora": [{"name": ..., "images": [{"id": ..., "refs_raw": [...], "candidate_raw": ...}, ...]}, ...]}`.
/// An image gives its captions raw (`refs_raw`, `candidate_raw`) or already normalised (`refs`, `candidate`); when it gives
/// both, the normalised ones must be the raw ones normalised. Other keys (expected scores, tags) are ignored.
public enum CaptionCorpusFile {
    /// A bad file: one line naming the file, where in it, and the problem.
    public struct Failure: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    public static func load(path: String) throws -> [CaptionCorpus] {
        guard let data = FileManager.default.contents(atPath: path) else { throw Failure(description: "\(path): cannot read the file") }
        return try parse(data, path: path)
    }

    /// Loads the file and scores each corpus; a corpus the metrics cannot score (no images, an image without references,
    /// a repeated image id) is an error naming the file and the corpus.
    public static func score(path: String) throws -> [(name: String, scores: CaptionCorpusScores)] {
        try load(path: path).map { corpus -> (name: String, scores: CaptionCorpusScores) in
            do {
                return (corpus.name, try CaptionMetrics.score(corpus.examples))
            } catch let error as CaptionMetricsError {
                throw Failure(description: "\(path): corpus \(corpus.name): \(error)")
            }
        }
    }

    public static func parse(_ data: Data, path: String) throws -> [CaptionCorpus] {
        func failure(_ problem: String) -> Failure { Failure(description: "\(path): \(problem)") }
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: data)
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
            throw failure("not valid JSON" + (detail.map { " (\(oneLine($0)))" } ?? ""))
        }
        guard let corpora = (root as? [String: Any])?["corpora"] as? [Any] else {
            throw failure("expected a JSON object with a \"corpora\" list")
        }
        guard !corpora.isEmpty else { throw failure("\"corpora\" is empty") }
        return try corpora.enumerated().map { index, value in
            try corpus(value, at: "corpora[\(index)]", failure)
        }
    }

    private static func corpus(_ value: Any, at location: String, _ failure: (String) -> Failure) throws -> CaptionCorpus {
        guard let object = value as? [String: Any] else { throw failure("\(location) is not an object") }
        guard let name = object["name"] as? String else { throw failure("\(location) has no \"name\" string") }
        let place = "\(location) (\(name))"
        guard let images = object["images"] as? [Any] else { throw failure("\(place) has no \"images\" list") }
        if let declared = object["num_images"], declared as? Int != images.count {
            throw failure("\(place): \"num_images\" is \(declared) but \"images\" has \(images.count)")
        }
        let examples = try images.enumerated().map { index, image in
            try example(image, at: "\(place).images[\(index)]", failure)
        }
        return CaptionCorpus(name: name, examples: examples)
    }

    private static func example(_ value: Any, at location: String, _ failure: (String) -> Failure) throws -> CaptionExample {
        guard let object = value as? [String: Any] else { throw failure("\(location) is not an object") }
        let id: String
        switch object["id"] {
        case let text as String: id = text
        case let number as Int: id = String(number)
        default: throw failure("\(location) has no \"id\" string or integer")
        }
        let place = "\(location) (id \(id))"
        let references = try captions(in: object, raw: "refs_raw", normalised: "refs", isList: true, at: place, failure)
        let candidate = try captions(in: object, raw: "candidate_raw", normalised: "candidate", isList: false, at: place, failure)
        return CaptionExample(id: id, references: references, candidate: candidate[0])
    }

    /// The captions under the raw key, else under the normalised key (one caption when `isList` is false).
    private static func captions(in object: [String: Any], raw: String, normalised: String, isList: Bool, at place: String,
                                 _ failure: (String) -> Failure) throws -> [String] {
        func strings(_ key: String) throws -> [String]? {
            guard let value = object[key] else { return nil }
            if isList {
                guard let list = value as? [String] else { throw failure("\(place): \"\(key)\" is not a list of strings") }
                return list
            }
            guard let text = value as? String else { throw failure("\(place): \"\(key)\" is not a string") }
            return [text]
        }
        let rawCaptions = try strings(raw), givenCaptions = try strings(normalised)
        guard let captions = rawCaptions ?? givenCaptions else { throw failure("\(place) has neither \"\(raw)\" nor \"\(normalised)\"") }
        if let rawCaptions, let givenCaptions, rawCaptions.map(CaptionNormalization.normalize) != givenCaptions {
            throw failure("\(place): \"\(normalised)\" is not \"\(raw)\" normalised (lower-case, [a-z0-9] words, single spaces)")
        }
        return captions
    }

    private static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
