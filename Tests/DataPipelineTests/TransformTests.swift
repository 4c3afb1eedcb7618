import TensorCore
import XCTest
@testable import DataPipeline

final class TransformTests: XCTestCase {
    func testEvalAtNativeSizeIsExactNormalisation() {
        let image = gradientImage(width: 16, height: 16)
        var rng = SplitMix64(seed: 0)
        let out = ImageTransform(mode: .eval, size: 16).apply(image, rng: &rng)
        let mean = ImageTransform.clipMean, std = ImageTransform.clipStd
        for y in 0..<16 {
            for x in 0..<16 {
                for c in 0..<3 {
                    let expected = (Float(image.pixels[(y * 16 + x) * 3 + c]) / 255 - mean[c]) / std[c]
                    XCTAssertEqual(out[c * 256 + y * 16 + x], expected, accuracy: 1e-4)
                }
            }
        }
    }

    func testEvalResizesShorterSideAndCentreCrops() {
        // Left half black, right half white, 40×20 → resize to 32×16 → wait: shorter side 20 → 16, width 32, crop centre 16.
        var pixels = [UInt8](repeating: 0, count: 40 * 20 * 3)
        for y in 0..<20 { for x in 20..<40 { for c in 0..<3 { pixels[(y * 40 + x) * 3 + c] = 255 } } }
        let image = RGBImage(width: 40, height: 20, pixels: pixels)
        var rng = SplitMix64(seed: 0)
        let t = ImageTransform(mode: .eval, size: 16, filter: .bilinear, mean: [0, 0, 0], std: [1, 1, 1])
        let out = t.apply(image, rng: &rng)
        // The crop covers source x in [10, 30): the edge at x = 20 sits at output column 8.
        XCTAssertEqual(out[0], 0, accuracy: 1e-6)
        XCTAssertEqual(out[15], 1, accuracy: 1e-6)
        XCTAssertEqual(out[6], 0, accuracy: 1e-6)
        XCTAssertEqual(out[9], 1, accuracy: 1e-6)
        XCTAssertEqual(out[7] + out[8], 1, accuracy: 1e-5)  // symmetric transition
    }

    func testConstantImageStaysConstantUnderAnyCrop() {
        let image = RGBImage(width: 300, height: 200, fill: (200, 100, 50))
        for mode in [ImageTransform.Mode.train, .eval] {
            for filter in ResampleFilter.allCases {
                var rng = SplitMix64(seed: 3)
                let out = ImageTransform(mode: mode, size: 24, filter: filter).apply(image, rng: &rng)
                let values: [Float] = [200, 100, 50]
                var expected: [Float] = []
                for c in 0..<3 { expected.append((values[c] / 255 - ImageTransform.clipMean[c]) / ImageTransform.clipStd[c]) }
                for c in 0..<3 {
                    for i in 0..<(24 * 24) { XCTAssertEqual(out[c * 576 + i], expected[c], accuracy: 1e-4) }
                }
            }
        }
    }

    func testBilinearDownscaleOfLinearRampStaysLinear() {
        var pixels = [UInt8](repeating: 0, count: 64 * 64 * 3)
        for y in 0..<64 { for x in 0..<64 { for c in 0..<3 { pixels[(y * 64 + x) * 3 + c] = UInt8(x * 4) } } }
        var rng = SplitMix64(seed: 0)
        let out = ImageTransform(mode: .eval, size: 16, filter: .bilinear, mean: [0, 0, 0], std: [1, 1, 1])
            .apply(RGBImage(width: 64, height: 64, pixels: pixels), rng: &rng)
        // Output pixel i averages source columns around 4i + 1.5: value (4i + 1.5) * 4 / 255 away from the borders.
        for i in 2..<14 { XCTAssertEqual(out[8 * 16 + i], Float(4 * i) * 4 / 255 + 1.5 * 4 / 255, accuracy: 1e-4) }
    }

    func testRandomCropFollowsScaleAndRatioAndIsDeterministic() {
        let t = ImageTransform(mode: .train, size: 32)
        for seed in 0..<200 {
            var a = ImageTransform.augmentationRandom(seed: 1, epoch: 2, position: seed)
            var b = ImageTransform.augmentationRandom(seed: 1, epoch: 2, position: seed)
            let box = t.randomCrop(width: 320, height: 240, rng: &a)
            XCTAssertEqual(box, t.randomCrop(width: 320, height: 240, rng: &b))
            let area = Double(box.width * box.height) / Double(320 * 240)
            XCTAssertGreaterThanOrEqual(area, 0.88)
            XCTAssertLessThanOrEqual(area, 1.0)
            XCTAssertTrue(box.x >= 0 && box.y >= 0 && box.x + box.width <= 320 && box.y + box.height <= 240)
        }
        // Extreme aspect ratio falls back to a centre crop clamped to 4/3.
        var rng = SplitMix64(seed: 5)
        let box = t.randomCrop(width: 1000, height: 100, rng: &rng)
        XCTAssertEqual(box, ImageTransform.CropBox(x: 433, y: 0, width: 133, height: 100))
    }

    func testSplitMixIsStableAndBelowIsInRange() {
        var r = SplitMix64(seed: 1234567)
        // Reference values of SplitMix64 seeded with 1234567 (the published test vector).
        XCTAssertEqual(r.next(), 6457827717110365317)
        XCTAssertEqual(r.next(), 3203168211198807973)
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<7000 { counts[r.below(7)] += 1 }
        XCTAssertTrue(counts.allSatisfy { $0 > 850 && $0 < 1150 }, "\(counts)")
    }

    func testFeistelPermutationIsABijection() {
        for n in [1, 2, 7, 100, 1000, 4097] {
            let p = FeistelPermutation(count: n, key: 99)
            XCTAssertEqual(Set((0..<n).map(p.apply)).count, n)
        }
    }
}
