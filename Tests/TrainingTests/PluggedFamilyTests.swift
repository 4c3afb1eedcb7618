import Checkpoint
import Distributed
import Foundation
import NN
import TensorCore
import Training
import TrainingKit
import XCTest

/// A family written outside the engine (here: softmax regression on a fixed random teacher) trains through the same
/// Trainer, step engine and checkpoints as CLIP, without any change to them: proof that families plug in.
final class PluggedFamilyTests: XCTestCase {
    /// Classifies `features`-dimensional inputs into `classes`; its loss is local to each sample (no global outputs).
    final class SoftmaxRegression: TrainingTask {
        let parameters = ParameterStore()
        let head: Linear
        let features = 8, classes = 4
        var checkpointAttachment: String?

        init(seed: UInt64) {
            head = Linear(ParameterBuilder(store: parameters, seed: seed).scope("head"), inFeatures: features, outFeatures: classes)
            parameters.seal()
        }

        var modelConfig: JSONValue { .object(["features": .integer(Int64(features)), "classes": .integer(Int64(classes))]) }
        func forward(_ batch: TaskBatch) -> TaskOutputs {
            TaskOutputs(local: head(batch.tensor("x")).crossEntropy(labels: batch.rows("label")))
        }
        func globalLoss(_ outputs: [Tensor], communicator: Communicator) throws -> GlobalLoss { fatalError("no global outputs") }
        func setRecomputation(blocks: Int, mlpBlocks: Int) {}
        func trainingData(_ context: RunContext) throws -> TrainingDataSource { TeacherData(batch: context.settings.batchSize) }
        func evaluation(_ context: RunContext) throws -> TaskEvaluation? { nil }
    }

    /// Inputs labelled by a fixed random linear teacher; batch i is the same whatever is asked before it.
    final class TeacherData: TrainingDataSource {
        let batch: Int
        var index = 0
        let samplesPerEpoch = 1 << 20
        init(batch: Int) { self.batch = batch }
        func seek(samplesSeen: Int) { index = samplesSeen / batch }
        func next() -> TaskBatch {
            var generator = SplitMix64(seed: 7, stream: UInt64(index))
            index += 1
            let x = Tensor.randomNormal([batch, 8], using: &generator)
            var teacherGenerator = SplitMix64(seed: 99)
            let teacher = Tensor.randomNormal([8, 4], using: &teacherGenerator)
            let scores = Tensor.matmul(x, teacher).values
            var labels = [Int32](repeating: 0, count: batch)
            for r in 0..<batch {
                let row = Array(scores[(r * 4)..<(r * 4 + 4)])
                labels[r] = Int32(row.firstIndex(of: row.max()!)!)
            }
            return TaskBatch(count: batch, tensors: ["x": x], integers: ["label": labels])
        }
    }

    func train(accumulation: Int, steps: Int) throws -> (SoftmaxRegression, [Double], Trainer) {
        var settings = Settings()
        settings.batchSize = 32
        settings.accumFreq = accumulation
        settings.maxSteps = steps
        settings.lr = 0.05
        settings.wd = 0
        settings.warmup = 0
        settings.lrScheduler = .const
        let task = SoftmaxRegression(seed: 1)
        let trainer = try Trainer(settings: settings, task: task, communicator: LocalCommunicator(),
                                  data: try task.trainingData(RunContext(settings: settings, runDirectory: NSTemporaryDirectory())))
        var losses: [Double] = []
        trainer.onStep = { losses.append($0.loss) }
        try trainer.run()
        return (task, losses, trainer)
    }

    func testALocalLossFamilyLearnsThroughTheEngine() throws {
        let (_, losses, _) = try train(accumulation: 1, steps: 60)
        let first = losses.prefix(5).reduce(0, +) / 5, last = losses.suffix(5).reduce(0, +) / 5
        XCTAssertLessThan(last, 0.6 * first, "loss \(first) -> \(last)")
    }

    /// Micro-batches back-propagate 1/k of their mean loss each, so gradients equal the one-shot gradients (compared
    /// directly: AdamW's update would hide a wrong scale).
    func testAccumulatedLocalLossGivesTheOneShotGradients() throws {
        let batch = TeacherData(batch: 32).next()
        var gradients: [[Float]] = [], losses: [Double] = []
        for k in [1, 4] {
            let task = SoftmaxRegression(seed: 1)
            let engine = try StepEngine(task: task, communicator: LocalCommunicator(), hyperparameters: .init())
            engine.accumulation = k
            let outcome = try engine.step(batch, trainable: [true, true], learningRate: 0)
            gradients.append(Array(engine.gradients))
            losses.append(outcome.loss)
        }
        XCTAssertEqual(losses[0], losses[1], accuracy: 1e-6)
        for (a, b) in zip(gradients[0], gradients[1]) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        XCTAssertGreaterThan(gradients[0].map(abs).max()!, 1e-3)
    }

    func testItsCheckpointRecordsTheFamilyAndRestores() throws {
        let (task, _, trainer) = try train(accumulation: 1, steps: 2)
        let dir = NSTemporaryDirectory() + "plugged-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let checkpoints = try RunCheckpoints(directory: dir, keep: nil)
        try checkpoints.save(task: task, family: "softmax-regression", moments: try trainer.engine.gatherOptimizerMoments()!, state: trainer.state)
        try checkpoints.finish()
        guard let loaded = try RunCheckpoints.load(dir + "/latest", runCheckpoints: dir, messages: { _ in }) else { return XCTFail("no checkpoint") }
        XCTAssertEqual(try RunCheckpoints.metadata(of: loaded).familyName, "softmax-regression")
        let fresh = SoftmaxRegression(seed: 5)
        let restored = try RunCheckpoints.restore(loaded, into: fresh, family: "softmax-regression")
        XCTAssertEqual(Array(fresh.parameters.flatValues), Array(task.parameters.flatValues))
        XCTAssertEqual(restored.state.step, 2)
        XCTAssertThrowsError(try RunCheckpoints.restore(loaded, into: fresh, family: "clip")) {
            XCTAssertTrue("\($0)".hasSuffix("a softmax-regression checkpoint, not one of --task clip"), "\($0)")
        }
    }
}
