import CaptionMetrics
import Foundation

/// Tests/Fixtures/caption-metrics/cases.json (pycocoevalcap 1.2's own scores; its README says how it was made), read
/// independently of the module's file reader, with every expected value. The JSON report of `CaptionMetricsReport` uses
/// the same keys and decodes into the same types (without the captions).
enum CaptionFixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/caption-metrics")
    static let casesPath = directory.appendingPathComponent("cases.json").path

    struct Counts: Decodable {
        var testlen: Int
        /// `reflen` for a corpus, `reflen_closest` for an image.
        var reflen: Int?
        var reflenClosest: Int?
        var guess: [Int]
        var correct: [Int]

        var bleuCounts: BLEUCounts {
            BLEUCounts(candidateLength: testlen, referenceLength: reflen ?? reflenClosest ?? -1, guess: guess, correct: correct)
        }
    }

    struct Image: Decodable {
        var id: String
        var refsRaw: [String]?
        var refs: [String]?
        var candidateRaw: String?
        var candidate: String?
        var bleu: [Double]
        var cider: Double
        var ciderPerN: [Double]
        var bleuCounts: Counts
    }

    struct Corpus: Decodable {
        var name: String
        var numImages: Int
        var bleu: [Double]
        var cider: Double
        var bleuCounts: Counts
        var images: [Image]?
    }

    struct File: Decodable {
        var corpora: [Corpus]
    }

    /// JSONDecoder, not JSONSerialization: on Linux the latter parses some doubles one unit in the last place off.
    static func decode(_ data: Data) throws -> File {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(File.self, from: data)
    }

    static func corpora() throws -> [Corpus] {
        try decode(Data(contentsOf: URL(fileURLWithPath: casesPath))).corpora
    }
}
