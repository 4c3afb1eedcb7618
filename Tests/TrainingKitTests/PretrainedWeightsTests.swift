import Checkpoint
import Foundation
import NN
import TensorCore
import XCTest
@testable import TrainingKit

final class PretrainedWeightsTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("pretrained-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    private func store(_ names: [(String, [Int])], fill: Float) -> ParameterStore {
        let store = ParameterStore()
        for (name, shape) in names {
            let count = shape.reduce(1, *)
            _ = store.register(name, shape: shape, initial: Tensor(shape: shape, values: (0..<count).map { fill + Float($0) }))
        }
        store.seal()
        return store
    }

    private func values(_ store: ParameterStore, _ name: String) -> [Float] { Array(store[name]!.value.values) }

    func testCheckpointTowerMapsOntoAnotherPrefixAndLeavesTheRest() throws {
        let source = store([("visual.proj", [2, 3]), ("visual.ln.weight", [3]), ("text_projection", [3, 2])], fill: 100)
        let tensors = source.parameters.map { CheckpointTensor(name: $0.name, shape: $0.shape, values: Array($0.value.values)) }
            + [CheckpointTensor(name: "adamw.exp_avg.visual.proj", shape: [2, 3], values: [Float](repeating: 7, count: 6))]
        let metadata: JSONValue = .object(["family": .string("clip"), "model": .object(["embed_dim": .integer(3)])])
        let file = folder.appendingPathComponent("step-00000005.sclip")
        try CheckpointFile.write(tensors, step: 5, metadataValue: metadata, to: file)

        let target = store([("encoders.image.proj", [2, 3]), ("encoders.image.ln.weight", [3]), ("head.weight", [4])], fill: 0)
        let weights = try PretrainedWeights(folder.path)  // a folder means its newest checkpoint
        XCTAssertEqual(weights.family, "clip")
        XCTAssertEqual(weights.modelConfig, .object(["embed_dim": .integer(3)]))
        XCTAssertEqual(try weights.load(into: target, prefix: "encoders.image.", from: "visual."), 2)
        XCTAssertEqual(values(target, "encoders.image.proj"), values(source, "visual.proj"))
        XCTAssertEqual(values(target, "encoders.image.ln.weight"), values(source, "visual.ln.weight"))
        XCTAssertEqual(values(target, "head.weight"), [0, 1, 2, 3], "parameters outside the mapping keep their values")
    }

    func testSafetensorsAndStrictErrors() throws {
        let source = store([("visual.proj", [2, 3])], fill: 1)
        let file = folder.appendingPathComponent("w.safetensors").path
        try source.save(safetensors: file)
        let weights = try PretrainedWeights(file)
        XCTAssertNil(weights.family)

        let misShaped = store([("visual.proj", [3, 2])], fill: 0)
        XCTAssertThrowsError(try weights.load(into: misShaped, prefix: "visual.", from: "visual.")) {
            XCTAssertTrue("\($0)".contains("visual.proj has shape [2, 3]"), "\($0)")
        }
        let missing = store([("visual.proj", [2, 3]), ("visual.extra", [1])], fill: 0)
        XCTAssertThrowsError(try weights.load(into: missing, prefix: "visual.", from: "visual.")) {
            XCTAssertTrue("\($0)".contains("has no tensor visual.extra"), "\($0)")
        }
        let unrelated = store([("text.proj", [2, 3])], fill: 0)
        XCTAssertThrowsError(try weights.load(into: unrelated, prefix: "visual.", from: "visual.")) {
            XCTAssertTrue("\($0)".contains("none of its tensors fits"), "\($0)")
        }
        XCTAssertThrowsError(try PretrainedWeights(folder.appendingPathComponent("absent.sclip").path)) {
            XCTAssertTrue("\($0)".contains("absent.sclip: no such checkpoint"), "\($0)")
        }
    }
}
