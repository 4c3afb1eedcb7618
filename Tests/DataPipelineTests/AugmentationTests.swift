import TensorCore
import XCTest
@testable import DataPipeline

/// Each `--aug-cfg` key's effect on the training transform, and torchvision's colour maths.
final class AugmentationTests: XCTestCase {
    let image = gradientImage(width: 60, height: 45, seed: 3)
    /// No normalisation, so outputs are the pixels in [0, 1].
    let identityNorm: (mean: [Float], std: [Float]) = ([0, 0, 0], [1, 1, 1])

    func output(_ transform: ImageTransform, position: Int = 0) -> [Float] {
        var rng = ImageTransform.augmentationRandom(seed: 5, epoch: 1, position: position)
        return transform.apply(image, rng: &rng)
    }

    func config(_ arguments: String...) throws -> AugmentationConfig { try AugmentationConfig(parsing: arguments) }

    func testDefaultsReproduceThePlainTrainingTransformBitForBit() throws {
        let plain = ImageTransform(mode: .train, size: 24)
        XCTAssertEqual(AugmentationConfig().trainingTransform(size: 24), plain)
        XCTAssertEqual(try config().trainingTransform(size: 24), plain)
        for position in 0..<20 { XCTAssertEqual(output(AugmentationConfig().trainingTransform(size: 24), position: position), output(plain, position: position)) }
    }

    func testZeroStrengthColorJitterIsTheIdentity() throws {
        let zero = try config("color_jitter=0", "color_jitter_prob=1")
        XCTAssertTrue(zero.photometric.isIdentity)
        XCTAssertEqual(output(zero.trainingTransform(size: 24)), output(ImageTransform(mode: .train, size: 24)))
        // Neutral factors through the colour path change nothing beyond float rounding either.
        var pixels = output(ImageTransform(mode: .train, size: 16, mean: identityNorm.mean, std: identityNorm.std))
        let before = pixels
        pixels.withUnsafeMutableBufferPointer { buffer in
            let planes = PlanarRGB(buffer.baseAddress!, pixelCount: 256)
            ColorJitter.apply(.init(order: ColorJitter.Adjustment.allCases, brightness: 1, contrast: 1, saturation: 1, hue: 0), to: planes)
        }
        for (a, b) in zip(pixels, before) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testGrayScaleProbabilityOneGivesEqualChannels() throws {
        let gray = try config("gray_scale_prob=1").trainingTransform(size: 16, mean: identityNorm.mean, std: identityNorm.std)
        let out = output(gray)
        XCTAssertEqual(Array(out[0..<256]), Array(out[256..<512]))
        XCTAssertEqual(Array(out[0..<256]), Array(out[512..<768]))
        // The same crop as without grey scale, so the grey is the luma of the plain crop's pixels.
        let plain = output(ImageTransform(mode: .train, size: 16, mean: identityNorm.mean, std: identityNorm.std))
        for i in 0..<256 { XCTAssertEqual(out[i], ColorAdjustments.luma(plain[i], plain[256 + i], plain[512 + i]), accuracy: 1e-6) }
        // With CLIP normalisation the channels differ only by their mean and std.
        let normalised = output(try config("gray_scale_prob=1").trainingTransform(size: 16))
        let m = ImageTransform.clipMean, s = ImageTransform.clipStd
        for i in 0..<256 {
            XCTAssertEqual(normalised[i] * s[0] + m[0], normalised[256 + i] * s[1] + m[1], accuracy: 1e-5)
            XCTAssertEqual(normalised[i] * s[0] + m[0], normalised[512 + i] * s[2] + m[2], accuracy: 1e-5)
        }
    }

    func testGrayScaleProbabilityIsPerSampleAndReproducible() throws {
        let half = try config("gray_scale_prob=0.5").trainingTransform(size: 8, mean: identityNorm.mean, std: identityNorm.std)
        var grey = 0
        for position in 0..<200 {
            let out = output(half, position: position)
            XCTAssertEqual(out, output(half, position: position))
            if Array(out[0..<64]) == Array(out[64..<128]) { grey += 1 }
        }
        XCTAssertTrue((70...130).contains(grey), "\(grey) of 200")
    }

    func testScaleAndRatioRangesAreRespected() throws {
        let narrow = try config("scale=(0.25, 0.3)", "ratio=1,1").trainingTransform(size: 8)
        for position in 0..<200 {
            var rng = ImageTransform.augmentationRandom(seed: 1, epoch: 0, position: position)
            let box = narrow.randomCrop(width: 400, height: 400, rng: &rng)
            let area = Double(box.width * box.height) / 160_000
            XCTAssertTrue(area >= 0.249 && area <= 0.301, "\(box)")
            XCTAssertEqual(box.width, box.height)
        }
        XCTAssertEqual(try config("scale=0.08,1.0").scale, 0.08...1.0)
    }

    func testColorJitterStrengthsFollowTorchvision() {
        let jitter = ColorJitter(brightness: 0.4, contrast: 1.5, saturation: 0, hue: 0.1)
        XCTAssertEqual(jitter.brightness, 0.6...1.4)
        XCTAssertEqual(jitter.contrast, 0...2.5)  // 1 - s clipped at 0
        XCTAssertNil(jitter.saturation)
        XCTAssertEqual(jitter.hue, -0.1...0.1)
        var orders = Set<[ColorJitter.Adjustment]>()
        var rng = SplitMix64(seed: 9)
        for _ in 0..<2000 {
            let p = jitter.drawParameters(&rng)
            orders.insert(p.order)
            XCTAssertTrue(jitter.brightness!.contains(p.brightness!) && jitter.contrast!.contains(p.contrast!) && jitter.hue!.contains(p.hue!))
            XCTAssertNil(p.saturation)
        }
        XCTAssertEqual(orders.count, 24)  // every order of the four adjustments occurs
    }

    func testColourAdjustmentMaths() {
        // Red, green and blue planes of the pixels (1, 0, 0), (0.5, 0, 0), (0.2, 0.5, 0.5).
        var pixels: [Float] = [1, 0.5, 0.2, 0, 0, 0.5, 0, 0, 0.5]
        pixels.withUnsafeMutableBufferPointer { buffer in
            let image = PlanarRGB(buffer.baseAddress!, pixelCount: 3)
            ColorAdjustments.adjustHue(image, shift: 1.0 / 3)  // red → green
            XCTAssertEqual(image.red[0], 0, accuracy: 1e-6); XCTAssertEqual(image.green[0], 1, accuracy: 1e-6); XCTAssertEqual(image.blue[0], 0, accuracy: 1e-6)
            ColorAdjustments.adjustHue(image, shift: -1.0 / 3)  // and back
            XCTAssertEqual(image.red[0], 1, accuracy: 1e-6); XCTAssertEqual(image.green[0], 0, accuracy: 1e-6)
            ColorAdjustments.adjustBrightness(image, factor: 1.5)
            XCTAssertEqual(image.red[0], 1)  // clamped
            XCTAssertEqual(image.red[1], 0.75, accuracy: 1e-6)
            ColorAdjustments.adjustSaturation(image, factor: 0)
            let l = ColorAdjustments.luma(0.3, 0.75, 0.75)
            XCTAssertEqual(image.red[2], l, accuracy: 1e-6); XCTAssertEqual(image.blue[2], l, accuracy: 1e-6)
            ColorAdjustments.adjustContrast(image, factor: 0)  // everything becomes the mean luma
            XCTAssertEqual(image.red[0], image.blue[1], accuracy: 1e-6)
            XCTAssertEqual(image.green[2], image.red[1], accuracy: 1e-6)
        }
    }

    func testColorJitterChangesTheImageReproduciblyAndWorldSizeIndependently() throws {
        let jittered = try config("color_jitter=(0.4, 0.4, 0.4, 0.1)", "color_jitter_prob=1").trainingTransform(size: 16)
        let plain = ImageTransform(mode: .train, size: 16)
        XCTAssertNotEqual(output(jittered), output(plain))
        XCTAssertEqual(output(jittered, position: 4), output(jittered, position: 4))
        XCTAssertNotEqual(output(jittered, position: 4), output(jittered, position: 5))
        // The loader seeds each sample by its global position, so two ranks see what one rank sees.
        let source = SyntheticShapes(seed: 2, trainCount: 16).source(.train)
        func batches(world: Int) throws -> [Float] {
            try (0..<world).flatMap { rank in
                try DataLoader(source: source, tokenizer: WordHashTokenizer(),
                               options: LoaderOptions(batchSize: 8 / world, worldSize: world, rank: rank, seed: 3, transform: jittered,
                                                      workers: 0)).buildBatch(0).images
            }
        }
        XCTAssertEqual(try batches(world: 1), try batches(world: 2))
    }

    func testNoneTrainsWithEvaluationPreprocessing() throws {
        let none = try config("none")
        XCTAssertTrue(none.evaluationPreprocessing)
        let transform = none.trainingTransform(size: 16)
        XCTAssertEqual(transform, ImageTransform(mode: .eval, size: 16))
        XCTAssertEqual(output(transform, position: 0), output(transform, position: 1))  // nothing random
    }
}
