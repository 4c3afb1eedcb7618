import CaptionMetrics
import XCTest

final class CaptionMetricsReportTests: XCTestCase {
    private func fixtureScores() throws -> [CaptionMetricsReport.NamedScores] {
        try CaptionCorpusFile.score(path: CaptionFixture.casesPath)
    }

    func testJSONCarriesEveryDigitUnderTheFixtureKeys() throws {
        let scored = try fixtureScores()
        let text = try CaptionMetricsReport.json(file: "/data/cases.json", scored, perImage: true)
        XCTAssertFalse(text.contains("\n"))
        XCTAssertTrue(text.hasPrefix(#"{"corpora":"#) && text.hasSuffix(#""file":"/data/cases.json"}"#), text)
        let report = try CaptionFixture.decode(Data(text.utf8))
        XCTAssertEqual(report.corpora.count, scored.count)
        for (decoded, corpus) in zip(report.corpora, scored) {
            XCTAssertEqual(decoded.name, corpus.name)
            XCTAssertEqual(decoded.numImages, corpus.scores.images.count)
            XCTAssertEqual(decoded.bleu, corpus.scores.bleu)
            XCTAssertEqual(decoded.cider, corpus.scores.cider)
            XCTAssertEqual(decoded.bleuCounts.reflen, corpus.scores.bleuCounts.referenceLength)
            XCTAssertEqual(decoded.bleuCounts.bleuCounts, corpus.scores.bleuCounts)
            let images = try XCTUnwrap(decoded.images)
            XCTAssertEqual(images.count, corpus.scores.images.count)
            for (image, scores) in zip(images, corpus.scores.images) {
                XCTAssertEqual(image.id, scores.id)
                XCTAssertEqual(image.bleu, scores.bleu)
                XCTAssertEqual(image.cider, scores.cider)
                XCTAssertEqual(image.ciderPerN, scores.ciderTermsByOrder)
                XCTAssertEqual(image.bleuCounts.reflenClosest, scores.bleuCounts.referenceLength)
                XCTAssertEqual(image.bleuCounts.bleuCounts, scores.bleuCounts)
            }
        }
        let withoutImages = try CaptionFixture.decode(Data(try CaptionMetricsReport.json(file: "cases.json", scored, perImage: false).utf8))
        XCTAssertTrue(withoutImages.corpora.allSatisfy { $0.images == nil })
    }

    func testTableHasARowPerCorpusAndPerImageWhenAsked() throws {
        let scored = try fixtureScores()
        let table = CaptionMetricsReport.table(scored, perImage: false).split(separator: "\n")
        XCTAssertEqual(table.count, 1 + 3)
        XCTAssertEqual(table[0].split(separator: " "), ["corpus", "images", "BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "CIDEr-D"])
        // The fixture README's table: main 40 images, 0.706897 0.622482 0.522128 0.437581 2.881172.
        XCTAssertEqual(table[1].split(separator: " "), ["main", "40", "0.706897", "0.622482", "0.522128", "0.437581", "2.881172"])
        let perImage = CaptionMetricsReport.table(scored, perImage: true).split(separator: "\n")
        XCTAssertEqual(perImage.count, 1 + 3 + 46)
        XCTAssertEqual(perImage[2].split(separator: " ").first, "m000")
    }
}
