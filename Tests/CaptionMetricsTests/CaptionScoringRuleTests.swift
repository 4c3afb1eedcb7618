@testable import CaptionMetrics
import XCTest

/// The rules on cases small enough to work out by hand, and the inputs the metrics refuse.
final class CaptionScoringRuleTests: XCTestCase {
    private func counts(_ candidate: String, _ references: [String]) -> BLEUCounts {
        BLEUCounts(candidate: CaptionNGrams(words: CaptionNormalization.words(candidate)),
                   references: references.map { CaptionNGrams(words: CaptionNormalization.words($0)) })
    }

    func testClosestReferenceLengthPrefersTheShorterOnATie() {
        XCTAssertEqual(counts("a b c", ["a b", "a b c d"]).referenceLength, 2)
        XCTAssertEqual(counts("a b c", ["a b c d", "a"]).referenceLength, 4)
    }

    func testMatchesAreClippedByTheMostInOneReference() {
        // "the" three times; at most twice in one reference, three times across both.
        let bleu = counts("the the the", ["the cat", "the the dog"])
        XCTAssertEqual(bleu.guess, [3, 2, 1, 0])
        XCTAssertEqual(bleu.correct, [2, 1, 0, 0])
    }

    func testSmoothedScoresAndBrevityPenalty() {
        // 4 of 4 unigrams, 1 of 3 bigrams; candidate 4 words against a 6-word reference.
        let bleu = counts("a b x y", ["a b c d y x"]).scores
        let penalty = exp(1 - 6.0 / 4.0)
        XCTAssertEqual(bleu[0], 1.0 * penalty, accuracy: 1e-8)
        XCTAssertEqual(bleu[1], (1.0 / 3.0).squareRoot() * penalty, accuracy: 1e-8)
        // No trigram matches: small but not zero, as pycocoevalcap's smoothing makes it.
        XCTAssertGreaterThan(bleu[2], 0)
        XCTAssertLessThan(bleu[2], 1e-4)
    }

    func testCIDErDOfExactMatchesAndOfALengthDifference() throws {
        // Two images with disjoint words: every reference n-gram has idf ln 2 and orders 3 and 4 are empty.
        let exact = try CaptionMetrics.score([
            CaptionExample(id: "1", references: ["a b"], candidate: "a b"),
            CaptionExample(id: "2", references: ["c d"], candidate: "c d"),
        ])
        XCTAssertEqual(exact.cider, 10 * (1 + 1 + 0 + 0) / 4, accuracy: 1e-12)
        // Candidate 1 bigram, reference 3: cosines 1/√2 and 1/√3, penalty exp(-2² / (2·6²)).
        let shorter = try CaptionMetrics.score([
            CaptionExample(id: "1", references: ["a b x y"], candidate: "a b"),
            CaptionExample(id: "2", references: ["c d"], candidate: "c d"),
        ])
        let expected = 10 * (1 / 2.0.squareRoot() + 1 / 3.0.squareRoot()) / 4 * exp(-4.0 / 72)
        XCTAssertEqual(shorter.images[0].cider, expected, accuracy: 1e-12)
        XCTAssertEqual(shorter.images[0].ciderTermsByOrder[0], 10 / 2.0.squareRoot() * exp(-4.0 / 72), accuracy: 1e-12)
    }

    func testOneImageCorpusAndEmptyCandidateScoreZeroCIDEr() throws {
        XCTAssertEqual(try CaptionMetrics.score([CaptionExample(id: "1", references: ["a b"], candidate: "a b")]).cider, 0)
        let empty = try CaptionMetrics.score([
            CaptionExample(id: "1", references: ["a b"], candidate: "!!"),
            CaptionExample(id: "2", references: ["c d"], candidate: "c d"),
        ])
        XCTAssertEqual(empty.images[0].cider, 0)
        XCTAssertEqual(empty.images[0].bleu, [0, 0, 0, 0])
    }

    func testRefusesWhatPycocoevalcapCannotScore() {
        XCTAssertThrowsError(try CaptionMetrics.score([])) { XCTAssertEqual($0 as? CaptionMetricsError, .emptyCorpus) }
        XCTAssertThrowsError(try CaptionMetrics.score([CaptionExample(id: "7", references: [], candidate: "a")])) {
            XCTAssertEqual($0 as? CaptionMetricsError, .noReferences(imageID: "7"))
        }
        let twice = CaptionExample(id: "7", references: ["a"], candidate: "a")
        XCTAssertThrowsError(try CaptionMetrics.score([twice, twice])) {
            XCTAssertEqual($0 as? CaptionMetricsError, .duplicateImage(id: "7"))
        }
    }
}
