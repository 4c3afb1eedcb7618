import Distributed
import Foundation
import NN
import TensorCore
@testable import TrainingKit
import XCTest

/// `--hard-negatives` files and the mined negatives' path through the gathered contrastive loss.
final class HardNegativeCaptionTests: XCTestCase {
    func write(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "hard-negatives-\(UUID().uuidString).jsonl"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testReadsKeysAndTextsAndSkipsBlankLines() throws {
        let path = try write("""
        {"key": "a.tar:1", "texts": ["face grinning", "grinning face big"], "source": "word-order"}

        {"key": "a.tar:2", "texts": []}
        """)
        let captions = try HardNegativeFile(contentsOf: path)
        XCTAssertEqual(captions.texts, ["a.tar:1": ["face grinning", "grinning face big"], "a.tar:2": []])
        XCTAssertNoThrow(try captions.checkKeys(known: ["a.tar:1", "a.tar:2", "a.tar:3"]))
    }

    func testWrittenFilesReadBack() throws {
        let path = NSTemporaryDirectory() + "hard-negatives-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try HardNegativeFile.write([("s.tar:x", ["b a \"q\""]), ("s.tar:y", []), ("s.tar:z", ["c/d", "é"])], to: path)
        XCTAssertEqual(try HardNegativeFile(contentsOf: path).texts, ["s.tar:x": ["b a \"q\""], "s.tar:z": ["c/d", "é"]])
    }

    /// Each defect is one line naming the file and the line.
    func testBadLinesAreErrorsNamingFileAndLine() throws {
        let cases = [("{\"key\": \"a\", \"texts\": [\"x\"]}\n{\"key\": \"b\", \"texts\": [\"x\"]", ":2: not a JSON object"),
                     ("[1, 2]", ":1: not a JSON object"),
                     ("{\"texts\": [\"x\"]}", ":1: no \"key\""),
                     ("\n{\"key\": \"a\", \"texts\": \"x\"}", ":2: \"texts\" of a is not a list of strings"),
                     ("{\"key\": \"a\", \"texts\": [\"x\", \" \"]}", ":1: text 1 of a is empty"),
                     ("{\"key\": \"a\", \"texts\": [\"x\"]}\n{\"key\": \"a\", \"texts\": [\"y\"]}", ":2: key a again (first on line 1)")]
        for (text, expected) in cases {
            let path = try write(text)
            XCTAssertThrowsError(try HardNegativeFile(contentsOf: path)) { error in
                XCTAssertEqual("\(error)".components(separatedBy: "\n").count, 1)
                XCTAssertTrue("\(error)".hasPrefix(path + expected), "\(error)")
            }
        }
        XCTAssertThrowsError(try HardNegativeFile(contentsOf: "/nonexistent/negatives.jsonl")) {
            XCTAssertTrue("\($0)".hasPrefix("/nonexistent/negatives.jsonl: cannot read"), "\($0)")
        }
    }

    func testAnUnknownKeyIsAnErrorNamingItsLine() throws {
        let path = try write("{\"key\": \"a.tar:1\", \"texts\": [\"x y\"]}\n{\"key\": \"a.tar:9\", \"texts\": [\"y x\"]}\n")
        XCTAssertThrowsError(try HardNegativeFile(contentsOf: path).checkKeys(known: ["a.tar:1", "a.tar:2"])) {
            XCTAssertEqual("\($0)", "\(path):2: key a.tar:9 is not a sample of the training data")
        }
    }

    /// Masked slots are not columns: the gathered loss with a mask is the evaluation with only the filled slots as
    /// extra columns (same bits), their gradients land in their slots and the empty slots get none; an all-empty mask is
    /// the plain loss bit for bit.
    func testMaskedSlotsAreLeftOutOfTheColumns() throws {
        let b = 4, k = 2, d = 8
        var g = SplitMix64(seed: 41)
        let image = Tensor.randomNormal([b, d], using: &g).l2Normalized(), text = Tensor.randomNormal([b, d], using: &g).l2Normalized()
        let negatives = Tensor.randomNormal([b * k, d], using: &g).l2Normalized()
        let mask: [Float] = [1, 0, 0, 0, 1, 1, 0, 1]
        let store = ParameterStore()
        let logitScale = store.register("logit_scale", shape: [], initial: Tensor(scalar: 2.5))
        store.seal()
        let communicator = LocalCommunicator()
        let loss = try GlobalLoss.clip(image: image, text: text, logitScale: logitScale, communicator: communicator, tileElements: 3 * b,
                                       negativeTexts: HardNegativeEmbeddings(embeddings: negatives.reshaped([b, k * d]), mask: Tensor(shape: [b, k], values: mask)))
        let filled = mask.indices.filter { mask[$0] > 0 }
        let columns = Tensor(shape: [filled.count, d], values: filled.flatMap { Array(negatives.values[($0 * d)..<(($0 + 1) * d)]) })
        let expected = ClipLossEvaluation(localImage: image, localText: text, gatheredImage: image, gatheredText: text,
                                          logitScale: 2.5, rank: 0, tileElements: 3 * b, extraTextColumns: columns)
        XCTAssertEqual(loss.loss.bitPattern, expected.loss.bitPattern)
        XCTAssertEqual(loss.outputGradients[2].shape, [b, k * d])
        assertSlotGradients(loss.outputGradients[2], columns: expected.gradients().extraText!, filled: filled)
        let empty = try GlobalLoss.clip(image: image, text: text, logitScale: logitScale, communicator: communicator, tileElements: 3 * b,
                                        negativeTexts: HardNegativeEmbeddings(embeddings: negatives.reshaped([b, k * d]), mask: Tensor.zeros([b, k])))
        let plain = try GlobalLoss.clip(image: image, text: text, logitScale: logitScale, communicator: communicator, tileElements: 3 * b)
        XCTAssertEqual(empty.loss.bitPattern, plain.loss.bitPattern)
        XCTAssertEqual(empty.outputGradients[0].values.map(\.bitPattern), plain.outputGradients[0].values.map(\.bitPattern))
        XCTAssertEqual(empty.outputGradients[1].values.map(\.bitPattern), plain.outputGradients[1].values.map(\.bitPattern))
        XCTAssertEqual(empty.parameterGradients[0].1, plain.parameterGradients[0].1)
        XCTAssertEqual(empty.outputGradients[2].values, [Float](repeating: 0, count: b * k * d))
    }
}
