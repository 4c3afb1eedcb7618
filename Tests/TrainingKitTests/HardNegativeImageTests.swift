import DataPipeline
import Distributed
import Foundation
import NN
import TensorCore
import Text
@testable import TrainingKit
import XCTest

/// Image hard negatives (`"images"` of a `--hard-negatives` file): the file's checks, the data source reading other
/// samples' images by key, and their path through the gathered contrastive loss as extra text→image columns.
extension HardNegativeCaptionTests {
    func testReadsImagesBesideTextsAndWritesThemBack() throws {
        let path = try write("""
        {"key": "a.tar:1", "images": ["a.tar:2", "a.tar:3"]}
        {"key": "a.tar:2", "texts": ["x"], "images": ["a.tar:1"]}
        """)
        let file = try HardNegativeFile(contentsOf: path)
        XCTAssertEqual(file.images, ["a.tar:1": ["a.tar:2", "a.tar:3"], "a.tar:2": ["a.tar:1"]])
        XCTAssertEqual(file.texts, ["a.tar:2": ["x"]])
        XCTAssertTrue(file.hasImages && file.hasTexts)
        let copy = path + ".copy"
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try HardNegativeFile.write([.init(key: "a.tar:1", images: ["a.tar:2"]), .init(key: "a.tar:2", texts: ["x"], images: ["a.tar:1"]),
                                    .init(key: "a.tar:3", images: [])], to: copy)
        let back = try HardNegativeFile(contentsOf: copy)
        XCTAssertEqual(back.images, ["a.tar:1": ["a.tar:2"], "a.tar:2": ["a.tar:1"]])
        XCTAssertEqual(back.texts, ["a.tar:2": ["x"]])
    }

    /// Each defect is one line naming the file and the line.
    func testBadImageListsAndUnknownImageKeysAreErrorsNamingTheLine() throws {
        let cases = [("{\"key\": \"a\"}", ":1: a has neither \"texts\" nor \"images\""),
                     ("{\"key\": \"a\", \"images\": \"b\"}", ":1: \"images\" of a is not a list of strings"),
                     ("\n{\"key\": \"a\", \"images\": [\"b\", \"\"]}", ":2: image 1 of a is empty"),
                     ("{\"key\": \"a\", \"images\": [\"b\", \"a\"]}", ":1: a lists its own image as a negative")]
        for (text, expected) in cases {
            let path = try write(text)
            XCTAssertThrowsError(try HardNegativeFile(contentsOf: path)) { error in
                XCTAssertEqual("\(error)".components(separatedBy: "\n").count, 1)
                XCTAssertTrue("\(error)".hasPrefix(path + expected), "\(error)")
            }
        }
        let path = try write("{\"key\": \"a.tar:1\", \"images\": [\"a.tar:2\"]}\n\n{\"key\": \"a.tar:2\", \"images\": [\"a.tar:1\", \"a.tar:7\"]}\n")
        XCTAssertThrowsError(try HardNegativeFile(contentsOf: path).checkKeys(known: ["a.tar:1", "a.tar:2"])) {
            XCTAssertEqual("\($0)", "\(path):3: image a.tar:7 of a.tar:2 is not a sample of the training data")
        }
    }

    func loader(samples: Int, batch: Int) throws -> LoaderDataSource {
        try LoaderDataSource(source: SyntheticShapes(seed: 0, imageSize: 16, trainCount: samples).source(.train), tokenizer: CharacterCodeTokenizer(),
                             options: LoaderOptions(batchSize: batch, seed: 3, transform: ImageTransform(mode: .eval, size: 16),
                                                    contextLength: 4, workers: 0),
                             imageSize: 16)
    }

    /// Sample i's negative image is sample i+1's (its only slot; sample 0 has none, so its slot is empty): each batch
    /// carries exactly that sample's image as the training data gives it, a file of images only adds no caption fields,
    /// and a file with an unknown image key fails before any batch is read.
    func testDataSourceReadsNegativeImagesByKey() throws {
        let samples = 16
        let key = { (i: Int) in "synthetic-train-\(i)" }
        let path = NSTemporaryDirectory() + "image-negatives-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try HardNegativeFile.write((1..<samples).map { .init(key: key($0), images: [key(($0 + 1) % samples)]) }, to: path)
        let source = try HardNegativeDataSource(base: try loader(samples: samples, batch: samples), captions: try HardNegativeFile(contentsOf: path),
                                                contextLength: 4, slots: 2)
        let batch = try source.next()
        XCTAssertNil(batch.integers["hard_negative_text"])
        let images = batch.tensor("hard_negative_image"), mask = batch.tensor("hard_negative_image_mask")
        XCTAssertEqual(images.shape, [samples, 2, 3, 16, 16])
        let plain = try loader(samples: samples, batch: samples).next()
        let perImage = 3 * 16 * 16
        func pixels(_ tensor: Tensor, _ index: Int) -> [Float] { Array(tensor.values[(index * perImage)..<((index + 1) * perImage)]) }
        for (row, sampleKey) in batch.keys.enumerated() {
            let i = Int(sampleKey.split(separator: "-").last!)!
            XCTAssertEqual(Array(mask.values[(2 * row)..<(2 * row + 2)]), i == 0 ? [0, 0] : [1, 0], sampleKey)
            XCTAssertEqual(pixels(images, 2 * row + 1), [Float](repeating: 0, count: perImage))
            guard i > 0 else { continue }
            let other = plain.keys.firstIndex(of: key((i + 1) % samples))!
            XCTAssertEqual(pixels(images, 2 * row), pixels(plain.tensor("image"), other), sampleKey)
        }
        try HardNegativeFile.write([.init(key: key(1), images: [key(99)])], to: path)
        XCTAssertThrowsError(try HardNegativeDataSource(base: try loader(samples: samples, batch: samples),
                                                        captions: try HardNegativeFile(contentsOf: path), contextLength: 4, slots: 1)) {
            XCTAssertEqual("\($0)", "\(path):1: image synthetic-train-99 of synthetic-train-1 is not a sample of the training data")
        }
    }

    /// Masked image slots are not columns: the gathered loss is the evaluation with the filled slots as extra image
    /// columns (same bits), their gradients land in their slots, the mask's gradient is zeros, and caption and image
    /// negatives together give their gradients in the outputs' order.
    func testNegativeImagesAreExtraTextToImageColumns() throws {
        let b = 4, k = 2, d = 8
        var g = SplitMix64(seed: 43)
        let image = Tensor.randomNormal([b, d], using: &g).l2Normalized(), text = Tensor.randomNormal([b, d], using: &g).l2Normalized()
        let negativeImages = Tensor.randomNormal([b * k, d], using: &g).l2Normalized()
        let negativeTexts = Tensor.randomNormal([b, d], using: &g).l2Normalized()
        let mask: [Float] = [0, 1, 1, 0, 1, 1, 0, 0]
        let store = ParameterStore()
        let logitScale = store.register("logit_scale", shape: [], initial: Tensor(scalar: 2.5))
        store.seal()
        let loss = try GlobalLoss.clip(image: image, text: text, logitScale: logitScale, communicator: LocalCommunicator(), tileElements: 3 * b,
                                       hardNegatives: HardNegativeWeighting(alpha: 0.9, beta: 0.5),
                                       negativeTexts: HardNegativeEmbeddings(embeddings: negativeTexts, mask: Tensor.ones([b, 1])),
                                       negativeImages: HardNegativeEmbeddings(embeddings: negativeImages.reshaped([b, k * d]), mask: Tensor(shape: [b, k], values: mask)))
        let filled = mask.indices.filter { mask[$0] > 0 }
        let columns = Tensor(shape: [filled.count, d], values: filled.flatMap { Array(negativeImages.values[($0 * d)..<(($0 + 1) * d)]) })
        let expected = ClipLossEvaluation(localImage: image, localText: text, gatheredImage: image, gatheredText: text, logitScale: 2.5, rank: 0,
                                          tileElements: 3 * b, hardNegatives: HardNegativeWeighting(alpha: 0.9, beta: 0.5),
                                          extraTextColumns: negativeTexts, extraImageColumns: columns)
        XCTAssertEqual(loss.loss.bitPattern, expected.loss.bitPattern)
        XCTAssertEqual(loss.outputGradients.map(\.shape), [[b, d], [b, d], [b, d], [b, 1], [b, k * d], [b, k]])
        XCTAssertEqual(loss.outputGradients[2].values, expected.gradients().extraText!.values)
        XCTAssertEqual(loss.outputGradients[5].values, [Float](repeating: 0, count: b * k))
        assertSlotGradients(loss.outputGradients[4], columns: expected.gradients().extraImage!, filled: filled)
    }

    /// Each filled slot's gradient is its column's (not zero); every empty slot's is zero.
    func assertSlotGradients(_ slots: Tensor, columns: Tensor, filled: [Int], file: StaticString = #filePath, line: UInt = #line) {
        let d = columns.shape[1], columnValues = columns.values
        for slot in 0..<(slots.count / d) {
            let values = Array(slots.values[(slot * d)..<((slot + 1) * d)])
            if let column = filled.firstIndex(of: slot) {
                XCTAssertEqual(values, Array(columnValues[(column * d)..<((column + 1) * d)]), file: file, line: line)
                XCTAssertGreaterThan(values.map { abs($0) }.max()!, 0, file: file, line: line)
            } else {
                XCTAssertEqual(values, [Float](repeating: 0, count: d), file: file, line: line)
            }
        }
    }
}

/// One token per character code (mod 100), for data sources whose captions are not read back.
private struct CharacterCodeTokenizer: TextTokenizer {
    var vocabularySize: Int { 100 }

    func encode(_ text: String, contextLength: Int) -> [Int32] {
        let ids = text.unicodeScalars.prefix(contextLength).map { Int32($0.value % 100) }
        return ids + [Int32](repeating: 0, count: contextLength - ids.count)
    }
}
