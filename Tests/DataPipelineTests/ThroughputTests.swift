import Foundation
import TensorCore
import XCTest
@testable import DataPipeline

/// Measures single-thread decode + augmentation throughput and prints it (figures for the report); the assertions only
/// catch pathological slowness.
final class ThroughputTests: XCTestCase {
    func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    func testJPEG224TrainingThroughput() throws {
        // 500×375 photo-like JPEGs (the typical web-image size class), quality 90.
        var files: [[UInt8]] = []
        for i in 0..<8 {
            var image = gradientImage(width: 500, height: 375, seed: i)
            var rng = SplitMix64(seed: UInt64(i))
            for k in 0..<image.pixels.count { image.pixels[k] = image.pixels[k] &+ UInt8(rng.below(24)) }
            files.append(try JPEGCodec.encode(image, quality: 90))
        }
        let transform = ImageTransform(mode: .train, size: 224)
        var output = [Float](repeating: 0, count: transform.outputCount)
        let count = 48
        let decodeOnly = try seconds {
            for i in 0..<count { _ = try ImageDecoder.decode(files[i % files.count], name: "bench") }
        }
        let total = try seconds {
            for i in 0..<count {
                let image = try ImageDecoder.decode(files[i % files.count], name: "bench")
                var rng = ImageTransform.augmentationRandom(seed: 0, epoch: 0, position: i)
                output.withUnsafeMutableBufferPointer { transform.apply(image, rng: &rng, into: $0.baseAddress!) }
            }
        }
        let decoded = try ImageDecoder.decode(files[0], name: "bench")
        let transformOnly = seconds {
            for i in 0..<count {
                var rng = ImageTransform.augmentationRandom(seed: 0, epoch: 0, position: i)
                output.withUnsafeMutableBufferPointer { transform.apply(decoded, rng: &rng, into: $0.baseAddress!) }
            }
        }
        print(String(format: "THROUGHPUT jpeg 500x375 -> 224 train (bicubic), 1 thread: %.0f samples/s (decode alone %.0f/s, transform alone %.0f/s)",
                     Double(count) / total, Double(count) / decodeOnly, Double(count) / transformOnly))
        XCTAssertGreaterThan(Double(count) / total, 10)
    }

    func testSynthetic32Throughput() throws {
        let data = SyntheticShapes(seed: 0, imageSize: 32)
        let transform = ImageTransform(mode: .train, size: 32)
        var output = [Float](repeating: 0, count: transform.outputCount)
        let count = 2000
        let total = seconds {
            for i in 0..<count {
                let s = data.sample(.train, index: i)
                var rng = ImageTransform.augmentationRandom(seed: 0, epoch: 0, position: i)
                output.withUnsafeMutableBufferPointer { transform.apply(s.image, rng: &rng, into: $0.baseAddress!) }
            }
        }
        print(String(format: "THROUGHPUT synthetic 32 px render + train transform, 1 thread: %.0f samples/s", Double(count) / total))
        XCTAssertGreaterThan(Double(count) / total, 500)
    }

    func testDroppedLoaderStopsItsWorkers() throws {
        let source = SyntheticShapes(trainCount: 4000).source(.train)
        weak var weakLoader: DataLoader?
        do {
            let loader = try DataLoader(source: source, tokenizer: WordHashTokenizer(),
                                        options: LoaderOptions(batchSize: 4, transform: ImageTransform(mode: .train, size: 16), workers: 2))
            _ = try loader.next()
            weakLoader = loader
        }
        XCTAssertNil(weakLoader)
    }
}
