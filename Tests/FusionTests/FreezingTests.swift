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
/// gradient is computed for them), never all-reduced, their gradient region and optimizer moments and step counts stay
/// bit-identical, and their values too.
final class FreezingTests: XCTestCase {
    func testFrozenEncodersGetNoGradientNoReductionAndNoOptimizerUpdate() throws {
        var settings = Settings()
        settings.batchSize = 16
        settings.maxSteps = 5
        settings.lr = 0.01
        settings.warmup = 0
        settings.lrScheduler = .const
        settings.stages = StageList([Stage(name: "all", steps: 2), Stage(name: "fusion", freeze: ["visual.", "text."], steps: 3)])
        let recorder = TrackingRecorder(TinyFusion.task(.gated, classes: 2))
        let trainer = try Trainer(settings: settings, task: recorder, communicator: LocalCommunicator(), data: ColourWordXOR(batch: 16))
        let store = recorder.parameters
        let encoderIndices = store.parameters.indices.filter { ["visual.", "text."].contains(where: store.parameters[$0].name.hasPrefix) }
        let encoderNames = Set(encoderIndices.map { store.parameters[$0].name })
        XCTAssertGreaterThan(encoderIndices.count, 10)

        struct Snapshot: Equatable { var values, gradients, m, v: [[Float]]; var steps: [Int] }
        func snapshot() -> Snapshot {
            let engine = trainer.engine, optimizer = engine.optimizer
            func region(_ buffer: [Float], _ i: Int) -> [Float] {
                let p = store.parameters[i]
                return Array(buffer[p.offset..<(p.offset + p.count)])
            }
            let gradients = Array(engine.gradients)
            return Snapshot(values: encoderIndices.map { Array(store.parameters[$0].value.values) },
                            gradients: encoderIndices.map { region(gradients, $0) },
                            m: encoderIndices.map { region(optimizer.firstMoment, $0) },
                            v: encoderIndices.map { region(optimizer.secondMoment, $0) },
                            steps: encoderIndices.map { optimizer.steps[$0] })
        }
        var afterStageOne: Snapshot?
        var activeInStageTwo: [[Int]] = []
        trainer.onStep = { record in
            if record.step == 2 { afterStageOne = snapshot() }
            if record.step > 2 { activeInStageTwo.append(trainer.engine.reducer.activeParameters) }
        }
        try trainer.run()

        let then = try XCTUnwrap(afterStageOne)
        XCTAssertEqual(then.steps, [Int](repeating: 2, count: encoderIndices.count), "stage 1 trains the encoders")
        XCTAssertTrue(then.m.contains { $0.contains { $0 != 0 } })
        XCTAssertEqual(snapshot(), then, "stage 2 must leave the encoders' values, gradient region and optimizer state untouched")
        XCTAssertEqual(recorder.trackedPerForward.count, 5)
        for tracked in recorder.trackedPerForward.prefix(2) { XCTAssertTrue(encoderNames.isSubset(of: tracked)) }
        for tracked in recorder.trackedPerForward.suffix(3) {
            XCTAssertTrue(tracked.isDisjoint(with: encoderNames), "stage 2 tracked \(tracked.intersection(encoderNames).sorted().prefix(3))")
            XCTAssertTrue(tracked.contains("gated.classifier.weight"))
        }
        XCTAssertEqual(activeInStageTwo.count, 3)
        for active in activeInStageTwo { XCTAssertTrue(Set(active).isDisjoint(with: encoderIndices), "frozen parameters all-reduced") }
    }
}
