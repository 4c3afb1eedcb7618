import CaptionMetrics
import XCTest

/// Every score of the fixture, corpus and per image, against pycocoevalcap's.
final class CaptionFixtureScoreTests: XCTestCase {
    static let tolerance = 1e-9

    func testEveryCorpusAndImageMatchesPycocoevalcap() throws {
        let corpora = try CaptionFixture.corpora()
        XCTAssertEqual(corpora.map(\.name), ["main", "small", "single"])
        var values = 0, worst = 0.0, countsCompared = 0
        func compare(_ ours: [Double], _ reference: [Double], _ what: String) {
            XCTAssertEqual(ours.count, reference.count, what)
            for (a, b) in zip(ours, reference) {
                values += 1
                worst = max(worst, abs(a - b))
                XCTAssertEqual(a, b, accuracy: Self.tolerance, what)
            }
        }
        for corpus in corpora {
            // The scorer input of the fixture (`refs`, `candidate`), as the README asks.
            let images = try XCTUnwrap(corpus.images)
            let scores = try CaptionMetrics.score(try images.map {
                CaptionExample(id: $0.id, references: try XCTUnwrap($0.refs), candidate: try XCTUnwrap($0.candidate))
            })
            compare(scores.bleu, corpus.bleu, "\(corpus.name) BLEU-1..4")
            compare([scores.cider], [corpus.cider], "\(corpus.name) CIDEr-D")
            XCTAssertEqual(scores.bleuCounts, corpus.bleuCounts.bleuCounts, "\(corpus.name) BLEU counts")
            countsCompared += 1
            XCTAssertEqual(scores.images.map(\.id), images.map(\.id))
            for (ours, reference) in zip(scores.images, images) {
                let what = "\(corpus.name) \(reference.id)"
                compare(ours.bleu, reference.bleu, "\(what) BLEU-1..4")
                compare([ours.cider], [reference.cider], "\(what) CIDEr-D")
                compare(ours.ciderTermsByOrder, reference.ciderPerN, "\(what) CIDEr-D per n")
                XCTAssertEqual(ours.bleuCounts, reference.bleuCounts.bleuCounts, "\(what) BLEU counts")
                countsCompared += 1
            }
        }
        // 3 corpora × 5 values, 46 images × 9 values: nothing was skipped.
        XCTAssertEqual(values, 3 * 5 + 46 * 9)
        XCTAssertEqual(countsCompared, 3 + 46)
        print("caption metrics: \(values) scores and \(countsCompared) sets of BLEU counts compared with pycocoevalcap's; worst difference \(worst)")
    }
}
