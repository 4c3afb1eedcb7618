import Foundation
import TensorCore
@testable import CLIP
@testable import TrainingKit
import XCTest

/// Retrieval metrics, zero-shot accuracy and the collapse detector on cases small enough to work out by hand.
final class MetricsTests: XCTestCase {
    // Similarities image·text: i0 [1, .8, 0], i1 [0, .6, 1], i2 [.6, .96, .8].
    let images: [Float] = [1, 0, 0, 1, 0.6, 0.8]
    let texts: [Float] = [1, 0, 0.8, 0.6, 0, 1]

    func testRanksFollowOpenCLIPConventions() {
        let m = RetrievalMetrics.compute(imageFeatures: images, textFeatures: texts, count: 3, dim: 2, logitScale: 10)
        // image→text 0-based positions [0, 1, 1]: mean 2/3 + 1, median floor(1) + 1.
        XCTAssertEqual(m["image_to_text_R@1"]!, 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(m["image_to_text_R@5"]!, 1)
        XCTAssertEqual(m["image_to_text_R@10"]!, 1)
        XCTAssertEqual(m["image_to_text_mean_rank"]!, 5.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(m["image_to_text_median_rank"]!, 2)
        // text→image positions [0, 2, 1].
        XCTAssertEqual(m["text_to_image_R@1"]!, 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(m["text_to_image_mean_rank"]!, 2, accuracy: 1e-12)
        XCTAssertEqual(m["text_to_image_median_rank"]!, 2)
        XCTAssertEqual(m["clip_val_loss"]!, 1.9838475087141152, accuracy: 1e-5)
        XCTAssertEqual(Set(m.keys).count, 11)
    }

    func testSummaryOfPositions() {
        let s = RetrievalMetrics.summary(positions: [0, 3])
        XCTAssertEqual(s["mean_rank"], 2.5)
        XCTAssertEqual(s["median_rank"], 2)  // numpy median 1.5, floored, + 1
        XCTAssertEqual(s["R@1"], 0.5)
        XCTAssertEqual(s["R@5"], 1)
        let t = RetrievalMetrics.summary(positions: [4, 5, 9, 10, 12])
        XCTAssertEqual(t["R@5"], 0.2)
        XCTAssertEqual(t["R@10"], 0.6)
        XCTAssertEqual(t["median_rank"], 10)
    }

    func testValidationLossPerBatchAsOpenCLIP() {
        // Batches of 2: {0, 1} against each other, {2} alone (loss 0), averaged over 3 samples.
        let m = RetrievalMetrics.compute(imageFeatures: images, textFeatures: texts, count: 3, dim: 2, logitScale: 10, lossBatchSize: 2)
        XCTAssertEqual(m["clip_val_loss"]!, 0.37606285102048204, accuracy: 1e-5)
        XCTAssertEqual(m["image_to_text_mean_rank"]!, 5.0 / 3, accuracy: 1e-12)
    }

    func testEqualCaptionsCountAsHits() {
        let m = RetrievalMetrics.compute(imageFeatures: images, textFeatures: texts, count: 3, dim: 2, logitScale: 10,
                                         captions: ["a dog", "a cat", "a cat"])
        XCTAssertEqual(m["image_to_text_R@1"], 1)
        XCTAssertEqual(m["text_to_image_R@1"], 1)
        XCTAssertEqual(m["text_to_image_mean_rank"], 1)
        // Captions that are all different change nothing.
        let distinct = RetrievalMetrics.compute(imageFeatures: images, textFeatures: texts, count: 3, dim: 2, logitScale: 10,
                                                captions: ["x", "y", "z"])
        XCTAssertEqual(distinct["text_to_image_mean_rank"]!, 2, accuracy: 1e-12)
    }

    func testTiesAreOrderedByIndexAndNaNIsAMiss() {
        let same = [Float](repeating: 0.5, count: 4 * 4)
        let m = RetrievalMetrics.compute(imageFeatures: same, textFeatures: same, count: 4, dim: 4, logitScale: 1)
        XCTAssertEqual(m["image_to_text_R@1"], 0.25)  // positions 0, 1, 2, 3
        XCTAssertEqual(m["image_to_text_mean_rank"], 2.5)
        XCTAssertEqual(m["clip_val_loss"]!, log(4), accuracy: 1e-6)
        var broken = images
        broken[0] = .nan
        let n = RetrievalMetrics.compute(imageFeatures: broken, textFeatures: texts, count: 3, dim: 2, logitScale: 1)
        // Row 0 (a hit before) now ranks last: positions [2, 1, 1].
        XCTAssertEqual(n["image_to_text_R@1"]!, 0)
        XCTAssertEqual(n["image_to_text_mean_rank"]!, 7.0 / 3, accuracy: 1e-12)
    }

    func testTiledMatchesBruteForceSortOnRandomFeatures() {
        let n = 37, d = 8
        var generator = SystemRandomNumberGenerator()
        func unitRows() -> [Float] {
            var x = (0..<(n * d)).map { _ in Float.random(in: -1...1, using: &generator) }
            for r in 0..<n {
                let norm = (0..<d).reduce(Float(0)) { $0 + x[r * d + $1] * x[r * d + $1] }.squareRoot()
                for c in 0..<d { x[r * d + c] /= norm }
            }
            return x
        }
        let image = unitRows()
        var text = unitRows()
        for i in 0..<(n * d) { text[i] = 0.7 * text[i] + 0.3 * image[i] }  // correlated, so ranks spread
        let m = RetrievalMetrics.compute(imageFeatures: image, textFeatures: text, count: n, dim: d, logitScale: 20,
                                         lossBatchSize: 10, rowsPerTile: 5)
        func positions(_ q: [Float], _ c: [Float]) -> [Int] {
            (0..<n).map { i in
                let s = (0..<n).map { j in (0..<d).reduce(0.0) { $0 + Double(q[i * d + $1]) * Double(c[j * d + $1]) } }
                let order = (0..<n).sorted { s[$0] > s[$1] || (s[$0] == s[$1] && $0 < $1) }
                return order.firstIndex(of: i)!
            }
        }
        let expected = RetrievalMetrics.summary(positions: positions(image, text))
        for (k, v) in expected { XCTAssertEqual(m["image_to_text_\(k)"]!, v, accuracy: 1e-12, k) }
        let expectedT = RetrievalMetrics.summary(positions: positions(text, image))
        for (k, v) in expectedT { XCTAssertEqual(m["text_to_image_\(k)"]!, v, accuracy: 1e-12, k) }
        var loss = 0.0
        for start in stride(from: 0, to: n, by: 10) {
            let end = min(start + 10, n)
            for (q, c) in [(image, text), (text, image)] {
                for i in start..<end {
                    let logits = (start..<end).map { j in 20 * (0..<d).reduce(0.0) { $0 + Double(q[i * d + $1]) * Double(c[j * d + $1]) } }
                    loss += log(logits.map { exp($0) }.reduce(0, +)) - logits[i - start]
                }
            }
        }
        XCTAssertEqual(m["clip_val_loss"]!, loss / 2 / Double(n), accuracy: 1e-5)
    }

    func testZeroShotClassifierAveragesThenNormalises() {
        let w = ZeroShotClassifier.classifierWeights(perTemplateEmbeddings: [[1, 0, 0, 1], [1, 0, 1, 0]], dim: 2)
        XCTAssertEqual(w[0], Float(0.5).squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(w[1], Float(0.5).squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(Array(w[2...]), [1, 0])
        XCTAssertEqual(ZeroShotClassifier.prompts(className: "cat", templates: ["a photo of a {}.", "{}"]), ["a photo of a cat.", "cat"])
        XCTAssertTrue(ZeroShotClassifier.defaultTemplates.allSatisfy { $0.contains("{}") })
    }

    func testZeroShotTopKWithTies() {
        // Six classes around the circle; classes 2 and 4 tie (same x) for an image at (1, 0).
        let s = Float(0.75).squareRoot()
        let classes: [Float] = [1, 0, 0.5, s, -0.5, s, -1, 0, -0.5, -s, 0.5, -s]
        let image: [Float] = [1, 0]
        let features = Array([[Float]](repeating: image, count: 4).joined())
        // Label 0: top-1. Label 2: classes 0, 1, 5 above → top-5. Label 4: also class 2 (tie, lower index) → 4 above → top-5.
        // Label 3: five above → miss.
        let (top1, top5) = ZeroShotClassifier.accuracy(imageFeatures: features, labels: [0, 2, 4, 3], classifier: classes, numClasses: 6, dim: 2)
        XCTAssertEqual(top1, 0.25)
        XCTAssertEqual(top5, 0.75)
        let m = ZeroShotClassifier.metrics(imageFeatures: features, labels: [0, 2, 4, 3], classifier: classes, numClasses: 6, dim: 2)
        XCTAssertEqual(m, ["zeroshot-val-top1": 0.25, "zeroshot-val-top5": 0.75])
        let named = ZeroShotClassifier.metrics(imageFeatures: features, labels: [0, 2, 4, 3], classifier: classes, numClasses: 6, dim: 2,
                                               prefix: "imagenet-")
        XCTAssertEqual(named["imagenet-zeroshot-val-top1"], 0.25)
        // With fewer than five classes every image is in the top five.
        let few = ZeroShotClassifier.accuracy(imageFeatures: image, labels: [1], classifier: [1, 0, 0, 1], numClasses: 2, dim: 2)
        XCTAssertEqual(few.top1, 0)
        XCTAssertEqual(few.top5, 1)
    }

    /// Unrelated features over several similarity tiles: the true pair sits mid-list on average. (Speed is the
    /// benchmarks' business, not a test's.)
    func testUnrelatedFeaturesRankMidList() {
        let n = 2_000, d = 64
        var generator = SplitMix64(seed: 3)
        let image = Tensor.randomNormal([n, d], using: &generator).values.map { $0 / Float(d).squareRoot() }
        let text = Tensor.randomNormal([n, d], using: &generator).values.map { $0 / Float(d).squareRoot() }
        let m = RetrievalMetrics.compute(imageFeatures: image, textFeatures: text, count: n, dim: d, logitScale: 100, lossBatchSize: 256)
        XCTAssertEqual(m["image_to_text_mean_rank"]!, Double(n) / 2, accuracy: Double(n) * 0.05)
        XCTAssertEqual(m["text_to_image_mean_rank"]!, Double(n) / 2, accuracy: Double(n) * 0.05)
    }
}
