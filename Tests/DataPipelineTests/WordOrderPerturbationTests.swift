import DataPipeline
import XCTest

final class WordOrderPerturbationTests: XCTestCase {
    let perturbation = WordOrderPerturbation(seed: 7, count: 3)

    /// Each negative is the caption's own words in another order, never the caption, all distinct.
    func testNegativesAreOtherOrdersOfTheSameWords() {
        for caption in ["a large red circle in the top left", "grinning face with big eyes", "woman technologist: medium skin tone", "red circle"] {
            let negatives = perturbation.negatives(of: caption, key: "train-000.tar:\(caption.count)")
            XCTAssertFalse(negatives.isEmpty, caption)
            XCTAssertLessThanOrEqual(negatives.count, 3)
            XCTAssertEqual(Set(negatives).count, negatives.count, caption)
            for negative in negatives {
                XCTAssertNotEqual(negative.lowercased(), caption.lowercased())
                XCTAssertEqual(negative.split(separator: " ").sorted(), caption.split(separator: " ").sorted())
            }
        }
        XCTAssertEqual(perturbation.negatives(of: "red circle", key: "k"), ["circle red"])
        XCTAssertEqual(perturbation.negatives(of: "a large red circle in the top left", key: "k").count, 3)
    }

    /// Nothing to reorder: one word, or one word repeated (in any case).
    func testCaptionsWithoutTwoDifferentWordsHaveNone() {
        for caption in ["", "dog", "  dog  ", "Dog dog DOG"] { XCTAssertEqual(perturbation.negatives(of: caption, key: "k"), [], caption) }
    }

    /// The same seed and key give the same negatives; another seed or key other ones.
    func testNegativesDependOnSeedAndKeyOnly() {
        let caption = "a small blue triangle in the bottom right corner"
        let first = perturbation.negatives(of: caption, key: "s.tar:1")
        XCTAssertEqual(first, WordOrderPerturbation(seed: 7, count: 3).negatives(of: caption, key: "s.tar:1"))
        XCTAssertNotEqual(first, WordOrderPerturbation(seed: 8, count: 3).negatives(of: caption, key: "s.tar:1"))
        XCTAssertNotEqual(first, perturbation.negatives(of: caption, key: "s.tar:2"))
    }
}
