import CLIP
import Checkpoint
import Foundation
import NN
import TensorCore
import Training
import TrainingKit
import XCTest

/// `swiftclip export --dtype f32|bf16|f16 --format safetensors|checkpoint`: every value rounded once to nearest (ties to
/// even), files about half the size, and weights-only checkpoints that load for inference but never resume a run.
final class WeightsExportTests: XCTestCase {
    private var directory = ""
    private var trainingCheckpoint = ""
    private var original: [String: [Float]] = [:]

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "/weights-export-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        addTeardownBlock { [directory] in try? FileManager.default.removeItem(atPath: directory) }
        let task = CLIPTask(model: CLIPModel(config: try CLIPConfig.load(FixturePaths.clipTiny + "/config.json"), seed: 5), settings: Settings())
        let checkpoints = try RunCheckpoints(directory: directory + "/checkpoints", keep: nil)
        var state = TrainingState()
        state.step = 12
        let zeros = [Float](repeating: 0, count: task.parameters.count)
        try checkpoints.save(task: task, family: "clip", moments: (zeros, zeros), state: state)
        try checkpoints.finish()
        trainingCheckpoint = directory + "/checkpoints"
        for p in task.parameters.parameters { original[p.name] = p.value.values }
    }

    private func fileSize(_ path: String) throws -> Int {
        try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
    }

    func testSafetensorsOfEachDTypeHoldTheRoundedValues() throws {
        var sizes: [StorageDType: Int] = [:]
        for dtype in StorageDType.allCases {
            let output = directory + "/model-\(dtype).safetensors"
            try WeightsExport.export(checkpoint: trainingCheckpoint, format: .safetensors, dtype: dtype, output: output) { _ in }
            sizes[dtype] = try fileSize(output)
            let read = try Safetensors.read(output)
            XCTAssertEqual(Set(read.tensors.keys), Set(original.keys))
            for (name, values) in original {
                let stored = try XCTUnwrap(read.tensors[name])
                XCTAssertEqual(stored.dtype, dtype.safetensorsName)
                XCTAssertEqual(stored.floats.map(\.bitPattern), values.map { dtype.rounded($0).bitPattern }, "\(dtype) \(name)")
            }
            XCTAssertEqual(read.metadata["family"], "clip")
        }
        let f32 = Double(try XCTUnwrap(sizes[.f32]))
        for dtype in [StorageDType.bf16, .f16] {
            XCTAssertEqual(Double(try XCTUnwrap(sizes[dtype])) / f32, 0.5, accuracy: 0.02, "\(dtype) size")
        }
    }

    func testWeightsOnlyCheckpointLoadsForInferenceAndRefusesToResume() throws {
        for dtype in StorageDType.allCases {
            let output = directory + "/inference-\(dtype).sclip"
            try WeightsExport.export(checkpoint: trainingCheckpoint, format: .checkpoint, dtype: dtype, output: output) { _ in }
            let loaded = try CheckpointModel(output) { _ in }
            XCTAssertEqual(loaded.family.name, "clip")
            XCTAssertEqual(loaded.checkpoint.step, 12)
            XCTAssertEqual(loaded.metadata.weightsOnly, true)
            XCTAssertEqual(loaded.checkpoint.tensors.count, original.count, "no optimizer moments")
            var worst: Float = 0
            for p in loaded.task.parameters.parameters {
                let values = try XCTUnwrap(original[p.name])
                XCTAssertEqual(p.value.values.map(\.bitPattern), values.map { dtype.rounded($0).bitPattern }, "\(dtype) \(p.name)")
                // Relative within float16's normal range; below 2⁻¹⁴ float16 is subnormal, spaced 2⁻²⁴ apart.
                for (a, b) in zip(p.value.values, values) where b != 0 {
                    worst = max(worst, dtype != .f16 || abs(b) >= 0x1p-14 ? abs(a - b) / abs(b) : abs(a - b) <= 0x1p-25 ? 0 : .infinity)
                }
            }
            XCTAssertLessThanOrEqual(worst, dtype == .bf16 ? 0x1p-8 : dtype == .f16 ? 0x1p-11 : 0, "\(dtype) relative error")

            let pretrained = try PretrainedWeights(output)
            XCTAssertEqual(pretrained.family, "clip")
            XCTAssertEqual(pretrained.tensors["logit_scale"]?.floats, [dtype.rounded(original["logit_scale"]![0])])

            let checkpoint = try XCTUnwrap(try RunCheckpoints.load(output, runCheckpoints: output, messages: { _ in }))
            XCTAssertThrowsError(try RunCheckpoints.restore(checkpoint, into: loaded.task, family: "clip")) { error in
                XCTAssertTrue("\(error)".contains("weights-only checkpoint for inference"), "\(error)")
            }
        }
        let bf16 = try fileSize(directory + "/inference-bf16.sclip"), f32 = try fileSize(directory + "/inference-f32.sclip")
        XCTAssertLessThan(Double(bf16) / Double(f32), 0.62, "bfloat16 about half of float32 after compression")
    }
}
