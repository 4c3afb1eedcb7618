import TrainingKit
import XCTest

final class WordOrderSensitivityTests: XCTestCase {
    /// Three images: the first prefers its caption, the second scores one perturbation as high as its caption (a tie
    /// is wrong), the third's caption cannot be reordered and does not count.
    func testCountsImagesThatPreferTheirCaptionToEveryReordering() {
        let captions = ["red circle", "big blue square", "dog"]
        let images: [Float] = [1, 0, 0, 1, 1, 0]
        let texts: [Float] = [1, 0, 0, 1, 1, 0]
        var asked: [String] = []
        let accuracy = WordOrderSensitivity.accuracy(imageFeatures: images, textFeatures: texts, captions: captions, dim: 2) { batch in
            asked += batch
            // Every perturbation of the first caption points away from its image; the second's first one matches its image.
            return batch.enumerated().flatMap { index, text -> [Float] in
                text.split(separator: " ").count == 2 ? [0, 1] : (asked.firstIndex(of: text)! == 1 ? [0, 1] : [0.6, 0.8])
            }
        }
        XCTAssertEqual(asked.first, "circle red")
        XCTAssertFalse(asked.contains { $0.split(separator: " ").count == 1 })
        XCTAssertEqual(accuracy, 0.5)
        XCTAssertNil(WordOrderSensitivity.accuracy(imageFeatures: [1, 0], textFeatures: [1, 0], captions: ["dog"], dim: 2) { _ in [] })
    }
}
