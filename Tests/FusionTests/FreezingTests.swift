import Checkpoint
import Distributed
import Fusion
import NN
import TensorCore
@testable import Training
import TrainingKit
import XCTest

/// A fusion task that records which parameters each forward sees tracked (on the tape, so getting a gradient).
final class TrackingRecorder: TrainingTask {
    let inner: FusionTask
    var trackedPerForward: [Set<String>] = []

    init(_ inner: FusionTask) { self.inner = inner }

    var parameters: ParameterStore { inner.parameters }
    var modelConfig: JSONValue { inner.modelConfig }
    func forward(_ batch: TaskBatch) -> TaskOutputs {
        trackedPerForward.append(Set(inner.parameters.parameters.filter { $0.leaf != nil }.map(\.name)))
        return inner.forward(batch)
    }
    func globalLoss(_ outputs: [Tensor], communicator: Communicator) throws -> GlobalLoss {
        try inner.globalLoss(outputs, communicator: communicator)
    }
    func setRecomputation(blocks: Int, mlpBlocks: Int) { inner.setRecomputation(blocks: blocks, mlpBlocks: mlpBlocks) }
    func trainingData(_ context: RunContext) throws -> TrainingDataSource { try inner.trainingData(context) }
    func evaluation(_ context: RunContext) throws -> TaskEvaluation? { try inner.evaluation(context) }
    var checkpointAttachment: String? {
        get { inner.checkpointAttachment }
        set { inner.checkpointAttachment = newValue }
    }
}

/// Stage 2 of the three-stage recipe (encoders frozen) costs the encoders nothing: they are never on the tape (no
/// gradient is computed for them), never all-reduced, have no gradient or optimizer storage (the buffers hold the
/// trainable parameters alone), and their values stay bit-identical; when stage 3 unfreezes them they start as in a
/// fresh AdamW.
final class FreezingTests: XCTestCase {
    func testFrozenEncodersGetNoGradientNoReductionNoStorageAndNoUpdate() throws {
        let settings = TinyFusion.stagedSettings(steps: 6, stages: [Stage(name: "all", steps: 2),
                                                                    Stage(name: "fusion", freeze: ["visual.", "text."], steps: 3), Stage(name: "full")])
        let recorder = TrackingRecorder(TinyFusion.task(.gated, classes: 2))
        let trainer = try Trainer(settings: settings, task: recorder, communicator: LocalCommunicator(), data: ColourWordXOR(batch: 16))
        let store = recorder.parameters
        let isEncoder = { (name: String) in ["visual.", "text."].contains(where: name.hasPrefix) }
        let encoderIndices = store.parameters.indices.filter { isEncoder(store.parameters[$0].name) }
        let headIndices = store.parameters.indices.filter { !isEncoder(store.parameters[$0].name) }
        let encoderNames = Set(encoderIndices.map { store.parameters[$0].name })
        let headCount = headIndices.reduce(0) { $0 + store.parameters[$1].count }
        XCTAssertGreaterThan(encoderIndices.count, 10)
        XCTAssertGreaterThan(store.count, 4 * headCount, "the encoders are most of the model")

        struct Buffers: Equatable { var gradients, firstMoment, secondMoment, segments, shard, reduced: Int; var trainable: [Int] }
        func buffers() -> Buffers {
            let engine = trainer.engine
            return Buffers(gradients: engine.gradients.count, firstMoment: engine.optimizer.firstMoment.count,
                           secondMoment: engine.optimizer.secondMoment.count, segments: engine.optimizer.segments.count,
                           shard: engine.optimizer.shard.count, reduced: engine.reducer.plan.buckets.reduce(0) { $0 + $1.elementCount },
                           trainable: engine.trainableParameters)
        }
        var buffersPerStep: [Int: Buffers] = [:], stepsPerStep: [Int: [Int]] = [:]
        trainer.onStep = { record in
            buffersPerStep[record.step] = buffers()
            stepsPerStep[record.step] = trainer.engine.optimizerSteps
        }
        try trainer.run()

        // Stage 1 and 3: storage and all-reduce for every parameter; stage 2: for the fusion head's alone.
        let all = Buffers(gradients: store.count, firstMoment: store.count, secondMoment: store.count, segments: store.parameters.count,
                          shard: store.count, reduced: store.count, trainable: Array(store.parameters.indices))
        let head = Buffers(gradients: headCount, firstMoment: headCount, secondMoment: headCount, segments: headIndices.count,
                           shard: headCount, reduced: headCount, trainable: headIndices)
        XCTAssertEqual(buffersPerStep[2], all)
        for step in 3...5 { XCTAssertEqual(buffersPerStep[step], head, "step \(step)") }
        XCTAssertEqual(buffersPerStep[6], all)
        XCTAssertEqual(Set(trainer.engine.optimizer.segments.map(\.name)), Set(store.parameters.map(\.name)))

        // Step counts: the head counts every step; the encoders have none while frozen and restart at 1 in stage 3.
        for i in headIndices { XCTAssertEqual(stepsPerStep[5]?[i], 5) }
        for i in encoderIndices {
            XCTAssertEqual(stepsPerStep[2]?[i], 2)
            XCTAssertEqual(stepsPerStep[5]?[i], 0)
            XCTAssertEqual(stepsPerStep[6]?[i], 1)
        }

        // Tracked (given a gradient) in stages 1 and 3, never in stage 2.
        XCTAssertEqual(recorder.trackedPerForward.count, 6)
        for tracked in recorder.trackedPerForward.prefix(2) { XCTAssertTrue(encoderNames.isSubset(of: tracked)) }
        for tracked in recorder.trackedPerForward[2..<5] {
            XCTAssertTrue(tracked.isDisjoint(with: encoderNames), "stage 2 tracked \(tracked.intersection(encoderNames).sorted().prefix(3))")
            XCTAssertTrue(tracked.contains("gated.classifier.weight"))
        }
        XCTAssertTrue(encoderNames.isSubset(of: recorder.trackedPerForward[5]))
    }

    /// The encoders' values after stage 2 equal those after stage 1 bit for bit.
    func testFrozenEncodersStayBitIdentical() throws {
        let settings = TinyFusion.stagedSettings(steps: 5, stages: [Stage(name: "all", steps: 2), Stage(name: "fusion", freeze: ["visual.", "text."])])
        let task = TinyFusion.task(.gated, classes: 2)
        let trainer = try Trainer(settings: settings, task: task, communicator: LocalCommunicator(), data: ColourWordXOR(batch: 16))
        let store = task.parameters
        let encoders = store.parameters.filter { ["visual.", "text."].contains(where: $0.name.hasPrefix) }
        let head = store.parameters.filter { $0.name.hasPrefix("gated.") }
        var afterStageOne: [[UInt32]]?, headAfterStageOne: [[Float]]?
        trainer.onStep = { record in
            guard record.step == 2 else { return }
            afterStageOne = encoders.map { $0.value.values.map(\.bitPattern) }
            headAfterStageOne = head.map { $0.value.values }
        }
        try trainer.run()
        XCTAssertEqual(encoders.map { $0.value.values.map(\.bitPattern) }, try XCTUnwrap(afterStageOne))
        XCTAssertNotEqual(head.map { $0.value.values }, try XCTUnwrap(headAfterStageOne), "the head trains in stage 2")
    }
}
