import Foundation

/// What `swiftclip caption-metrics` prints: a table with six decimals, and JSON with every digit under the key names of
/// the fixture's cases.json (`bleu`, `cider`, `bleu_counts`, per image `cider_per_n`), so the two can be compared.
public enum CaptionMetricsReport {
    public typealias NamedScores = (name: String, scores: CaptionCorpusScores)

    /// One row per corpus (BLEU-1..4, CIDEr-D), followed by one indented row per image when `perImage` is set.
    public static func table(_ corpora: [NamedScores], perImage: Bool) -> String {
        let labels = corpora.map(\.name) + (perImage ? corpora.flatMap { $0.scores.images.map { "  " + $0.id } } : [])
        let width = max(labels.map(\.count).max() ?? 0, "corpus".count)
        func row(_ label: String, _ count: String, _ values: [String]) -> String {
            ([label.padding(toLength: width, withPad: " ", startingAt: 0), pad(count, 6)] + values.map { pad($0, 9) })
                .joined(separator: " ")
        }
        func figures(_ bleu: [Double], _ cider: Double) -> [String] { (bleu + [cider]).map { String(format: "%.6f", $0) } }
        var lines = [row("corpus", "images", ["BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "CIDEr-D"])]
        for corpus in corpora {
            lines.append(row(corpus.name, String(corpus.scores.images.count), figures(corpus.scores.bleu, corpus.scores.cider)))
            guard perImage else { continue }
            for image in corpus.scores.images { lines.append(row("  " + image.id, "", figures(image.bleu, image.cider))) }
        }
        return lines.joined(separator: "\n")
    }

    /// One JSON object on one line: `{"file": ..., "corpora": [{"name", "num_images", "bleu", "cider", "bleu_counts"
    /// [, "images"]}]}`.
    public static func json(file: String, _ corpora: [NamedScores], perImage: Bool) throws -> String {
        let report = FileReport(file: file, corpora: corpora.map { corpus in
            CorpusReport(name: corpus.name, numImages: corpus.scores.images.count, bleu: corpus.scores.bleu, cider: corpus.scores.cider,
                         bleuCounts: CountsReport(counts: corpus.scores.bleuCounts, referenceKey: "reflen"),
                         images: perImage ? corpus.scores.images.map { image in
                             ImageReport(id: image.id, bleu: image.bleu, cider: image.cider, ciderPerN: image.ciderTermsByOrder,
                                         bleuCounts: CountsReport(counts: image.bleuCounts, referenceKey: "reflen_closest"))
                         } : nil)
        })
        // JSONEncoder, not JSONSerialization: the latter writes doubles with fewer digits than a round trip needs.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(report), as: UTF8.self)
    }

    private struct FileReport: Encodable {
        let file: String
        let corpora: [CorpusReport]
    }

    private struct CorpusReport: Encodable {
        let name: String
        let numImages: Int
        let bleu: [Double]
        let cider: Double
        let bleuCounts: CountsReport
        let images: [ImageReport]?

        enum CodingKeys: String, CodingKey {
            case name, numImages = "num_images", bleu, cider, bleuCounts = "bleu_counts", images
        }
    }

    private struct ImageReport: Encodable {
        let id: String
        let bleu: [Double]
        let cider: Double
        let ciderPerN: [Double]
        let bleuCounts: CountsReport

        enum CodingKeys: String, CodingKey {
            case id, bleu, cider, ciderPerN = "cider_per_n", bleuCounts = "bleu_counts"
        }
    }

    /// BLEU counts under cases.json's keys, whose reference length is `reflen` for a corpus and `reflen_closest` for an image.
    private struct CountsReport: Encodable {
        let counts: BLEUCounts
        let referenceKey: String

        private struct Key: CodingKey {
            let stringValue: String
            var intValue: Int? { nil }
            init(_ name: String) { stringValue = name }
            init?(stringValue: String) { self.init(stringValue) }
            init?(intValue: Int) { nil }
        }

        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(counts.candidateLength, forKey: Key("testlen"))
            try container.encode(counts.referenceLength, forKey: Key(referenceKey))
            try container.encode(counts.guess, forKey: Key("guess"))
            try container.encode(counts.correct, forKey: Key("correct"))
        }
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }
}
