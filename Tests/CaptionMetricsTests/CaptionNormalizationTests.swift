import CaptionMetrics
import XCTest

final class CaptionNormalizationTests: XCTestCase {
    func testEveryFixtureCaptionNormalisesToTheScorerInput() throws {
        var checked = 0
        for corpus in try CaptionFixture.corpora() {
            for image in try XCTUnwrap(corpus.images) {
                let references = try XCTUnwrap(image.refs), referencesRaw = try XCTUnwrap(image.refsRaw)
                XCTAssertEqual(CaptionNormalization.normalize(try XCTUnwrap(image.candidateRaw)), image.candidate, "\(corpus.name) \(image.id)")
                XCTAssertEqual(referencesRaw.map(CaptionNormalization.normalize), references, "\(corpus.name) \(image.id)")
                checked += 1 + references.count
            }
        }
        XCTAssertGreaterThan(checked, 100)
    }

    func testTheReadmeExamplesAndNonASCII() {
        XCTAssertEqual(CaptionNormalization.normalize("A T-Shirt, folded."), "a t shirt folded")
        XCTAssertEqual(CaptionNormalization.normalize("kid's"), "kid s")
        XCTAssertEqual(CaptionNormalization.normalize("...!"), "")
        XCTAssertEqual(CaptionNormalization.words("  Two\tDOGS\n3 cats  "), ["two", "dogs", "3", "cats"])
        // Only ASCII letters are lower-cased; any other scalar separates words.
        XCTAssertEqual(CaptionNormalization.words("Café ÉCLAIR naïve"), ["caf", "clair", "na", "ve"])
    }

    func testNormalisedTextIsLeftUnchanged() {
        for text in ["a t shirt folded", "", "x", "12 red balls"] {
            XCTAssertEqual(CaptionNormalization.normalize(text), text)
        }
    }
}
