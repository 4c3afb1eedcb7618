import Distributed
import Foundation
@testable import Fusion
import NN
import TensorCore
import Training
import TrainingKit
import XCTest

/// `--fusion-objective unimodal`: each encoder trains through its own classifier (`unimodal.<modality>.*`), the losses
/// averaged, while the fusion head is frozen; a stage may choose it (stage 1 of the three-stage recipe).
final class UnimodalObjectiveTests: XCTestCase {
    func testTheLossIsTheMeanOfEachEncodersClassificationAndItsGradientsAreRight() throws {
        let task = TinyFusion.task(.gated, unimodalHeads: true, objective: .unimodal)
        let store = task.parameters
        XCTAssertEqual(store.parameters.suffix(4).map(\.name),
                       ["unimodal.image.weight", "unimodal.image.bias", "unimodal.text.weight", "unimodal.text.bias"])
        XCTAssertEqual(store["unimodal.image.weight"]?.shape, [3, 6])
        XCTAssertEqual(store["unimodal.text.weight"]?.shape, [3, 5])
        let batch = TinyFusion.batch(count: 6)
        let labels = batch.rows("label")
        let loss = try XCTUnwrap(withoutGradients { task.forward(batch).local }).scalar
        let expected = withoutGradients { () -> Float in
            let image = task.model.unimodal[0](task.model.vision!.pooledFeatures(batch.tensor("image"))).crossEntropy(labels: labels)
            let text = task.model.unimodal[1](task.model.text!.pooledFeatures(batch.integers["text"]!)).crossEntropy(labels: labels)
            return (image.scalar + text.scalar) / 2
        }
        XCTAssertEqual(loss, expected, accuracy: 1e-6)
        HeadGradientCheck.check(store, prefixes: ["unimodal.", "visual.proj", "text.text_projection"]) { task.forward(batch).local! }
        XCTAssertEqual(task.frozenPrefixes, ["gated."])
        var fused = Settings()
        fused.fusionObjective = .fused
        task.applyStageSettings(fused)
        XCTAssertEqual(task.frozenPrefixes, ["unimodal."])
    }

    func testAUnimodalStageTrainsEncodersAndTheirHeadsOnlyThenTheFusionStageOnlyTheHead() throws {
        let settings = TinyFusion.stagedSettings(steps: 3, stages: [Stage(name: "encoders", steps: 2, settings: ["fusion-objective": "unimodal"]),
                                                                    Stage(name: "fusion", freeze: ["visual.", "text."])])
        let task = TinyFusion.task(.gated, classes: 2, unimodalHeads: true)
        let trainer = try Trainer(settings: settings, task: task, communicator: LocalCommunicator(), data: ColourWordXOR(batch: 16))
        let store = task.parameters
        func indices(_ prefixes: [String]) -> [Int] {
            store.parameters.indices.filter { i in prefixes.contains { store.parameters[i].name.hasPrefix($0) } }
        }
        func values(_ prefixes: [String]) -> [[UInt32]] { indices(prefixes).map { store.parameters[$0].value.values.map(\.bitPattern) } }
        let initial = (head: values(["gated."]), encoders: values(["visual.", "text."]), unimodal: values(["unimodal."]))
        var afterStageOne: (head: [[UInt32]], encoders: [[UInt32]], unimodal: [[UInt32]])?
        var trainable: [Int: [Int]] = [:]
        trainer.onStep = { record in
            trainable[record.step] = trainer.engine.trainableParameters
            if record.step == 2 { afterStageOne = (values(["gated."]), values(["visual.", "text."]), values(["unimodal."])) }
        }
        try trainer.run()
        let one = try XCTUnwrap(afterStageOne)
        XCTAssertEqual(trainable[1], indices(["visual.", "text.", "unimodal."]))
        XCTAssertEqual(one.head, initial.head, "stage 1 must leave the fusion head untouched")
        XCTAssertTrue(zip(one.encoders, initial.encoders).allSatisfy { $0 != $1 }, "stage 1 trains every encoder parameter")
        XCTAssertTrue(zip(one.unimodal, initial.unimodal).allSatisfy { $0 != $1 })
        XCTAssertEqual(trainable[3], indices(["gated."]))
        XCTAssertEqual(values(["visual.", "text."]), one.encoders)
        XCTAssertEqual(values(["unimodal."]), one.unimodal)
        XCTAssertNotEqual(values(["gated."]), one.head)
    }

    func testTheThreeStageRecipeTrainsStageOneUnimodally() throws {
        let recipe = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("cluster-configs/fusion-three-stage.yaml").path
        var settings = Settings()
        try Families.registry.apply(recipe: recipe, to: &settings)
        XCTAssertEqual(settings.stages.stages.first?.settings, ["fusion-objective": "unimodal"])
        XCTAssertEqual(try Families.registry.settings(settings, in: settings.stages.stages[0]).fusionObjective, .unimodal)
        XCTAssertEqual(try Families.registry.settings(settings, in: settings.stages.stages[1]).fusionObjective, .fused)
        XCTAssertTrue(try FusionModelConfig.usesUnimodalObjective(settings))
        settings.stages = StageList([])
        XCTAssertFalse(try FusionModelConfig.usesUnimodalObjective(settings), "without a unimodal stage the model has no unimodal heads")
    }
}
