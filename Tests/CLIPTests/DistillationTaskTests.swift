import CLIP
import Distributed
import Foundation
import NN
import TensorCore
import TrainingKit
import XCTest

/// `--distill-teacher`: the teacher is built from its weights and config, a wider teacher gives the student CLIP-KD's
/// learned projections, the feature term and its gradients are right, and bad teachers are one-line errors.
final class DistillationTaskTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "distill-task-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

    /// A teacher like clip-tiny but with `embedDim` (and `contextLength`), saved as safetensors with its config file.
    func writeTeacher(embedDim: Int, contextLength: Int = 16) throws -> (weights: String, config: String, model: CLIPModel) {
        var config = try CLIPConfig.load(FixturePaths.clipTiny + "/config.json")
        config.embedDim = embedDim
        config.text.contextLength = contextLength
        let model = CLIPModel(config: config, seed: 7)
        let weights = folder + "/teacher-\(embedDim)-\(contextLength).safetensors", configFile = folder + "/teacher-\(embedDim)-\(contextLength).json"
        try model.parameters.save(safetensors: weights)
        try JSONEncoder().encode(config).write(to: URL(fileURLWithPath: configFile))
        return (weights, configFile, model)
    }

    func settings(teacher: String, model: String, loss: DistillationKind) -> Settings {
        var settings = Settings()
        settings.model = FixturePaths.clipTiny + "/config.json"
        settings.seed = 1
        settings.distillTeacher = teacher
        settings.distillTeacherModel = model
        settings.distillLoss = loss
        settings.distillFeatureWeight = 3
        return settings
    }

    func batch(_ task: CLIPTask, count: Int) throws -> TaskBatch {
        let source = RandomDataSource(imageSize: 32, contextLength: 16, vocabularySize: 1000, batchPerRank: count, rank: 0, worldSize: 1,
                                      samplesPerEpoch: 100, seed: 4)
        var batch = source.next()
        let embeddings = try task.teacher!.embeddings(of: batch)
        batch.tensors["teacher_image"] = embeddings.image
        batch.tensors["teacher_text"] = embeddings.text
        return batch
    }

    func testAWiderTeacherGivesLearnedProjectionsWhoseFeatureLossHasFiniteDifferenceGradients() throws {
        let teacher = try writeTeacher(embedDim: 96)
        let task = try XCTUnwrap(try CLIPFamily.makeTask(settings: settings(teacher: teacher.weights, model: teacher.config, loss: .feature)) as? CLIPTask)
        XCTAssertEqual(task.teacher?.width, 96)
        XCTAssertEqual(task.teacher?.scale ?? 0, Foundation.exp(teacher.model.logitScale.value.scalar), accuracy: 1e-6)
        XCTAssertEqual(task.parameters["distill_projection.image"]?.shape, [96, 64])
        XCTAssertEqual(task.parameters["distill_projection.text"]?.shape, [96, 64])
        XCTAssertEqual(task.model.config.distillProjectionDim, 96)
        // The recorded config rebuilds the projections (checkpoints, eval, export).
        let rebuilt = try CLIPFamily.makeTask(modelConfig: task.modelConfig, settings: Settings())
        XCTAssertEqual(rebuilt.parameters["distill_projection.text"]?.shape, [96, 64])

        let batch = try batch(task, count: 5)
        // The live teacher is the saved model itself.
        let expectedTeacher = withoutGradients { teacher.model.encodeImage(batch.tensor("image")).values }
        XCTAssertEqual(batch.tensor("teacher_image").values, expectedTeacher)

        func featureLoss() -> Double { Double(withoutGradients { task.forward(batch).local!.scalar }) }
        let outputs = withoutGradients { task.forward(batch) }
        XCTAssertEqual(outputs.global.count, 2, "feature distillation alone adds no global outputs")
        let (image, text) = (outputs.global[0], outputs.global[1])
        let projection = task.model.distillProjection!
        let projectedImage = Tensor.matmul(image, projection.image.value, transposeB: true).values
        let projectedText = Tensor.matmul(text, projection.text.value, transposeB: true).values
        func meanSquare(_ a: [Float], _ b: [Float]) -> Double { zip(a, b).reduce(0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(a.count) }
        let expected = 3 * (meanSquare(projectedImage, batch.tensor("teacher_image").values) + meanSquare(projectedText, batch.tensor("teacher_text").values)) / 2
        XCTAssertEqual(featureLoss(), expected, accuracy: 1e-5 * expected)

        // Gradients of the projections and of a tower weight against central differences.
        task.parameters.track { _ in true }
        let loss = task.forward(batch).local!
        let gradients = Tape.shared.backward(from: loss)
        let checked = [(projection.image, [0, 17, 96 * 64 - 1]), (projection.text, [5, 300]), (task.parameters["text_projection"]!, [0, 9])]
        var tapeGradients: [[Float]] = []
        for (parameter, _) in checked { tapeGradients.append(gradients[parameter.tensor]?.values ?? []) }
        task.parameters.untrack()
        for ((parameter, entries), gradient) in zip(checked, tapeGradients) {
            XCTAssertEqual(gradient.count, parameter.count, parameter.name)
            for i in entries {
                let original = parameter.pointer[i], h: Float = 1e-2
                parameter.pointer[i] = original + h
                let plus = featureLoss()
                parameter.pointer[i] = original - h
                let minus = featureLoss()
                parameter.pointer[i] = original
                let numeric = (plus - minus) / Double(2 * h)
                XCTAssertEqual(Double(gradient[i]), numeric, accuracy: 2e-3 * max(abs(numeric), 1e-2), "\(parameter.name)[\(i)]")
            }
        }
    }

    func testAffinityAddsTheTeachersEmbeddingsAsGlobalOutputsAndAnEqualWidthTeacherNoProjection() throws {
        let teacher = try writeTeacher(embedDim: 64)
        let task = try XCTUnwrap(try CLIPFamily.makeTask(settings: settings(teacher: teacher.weights, model: teacher.config, loss: .both)) as? CLIPTask)
        XCTAssertNil(task.model.distillProjection)
        let batch = try batch(task, count: 4)
        let outputs = withoutGradients { task.forward(batch) }
        XCTAssertEqual(outputs.global.count, 4)
        XCTAssertEqual(outputs.global[2].values, batch.tensor("teacher_image").values)
        XCTAssertNotNil(outputs.local)
    }

    func testTheTeacherScaleSettingIsTheAffinityLossTeacherTemperature() throws {
        let teacher = try writeTeacher(embedDim: 64)
        var chosen = settings(teacher: teacher.weights, model: teacher.config, loss: .affinity)
        chosen.distillTeacherScale = 5
        let own = try XCTUnwrap(try CLIPFamily.makeTask(settings: settings(teacher: teacher.weights, model: teacher.config, loss: .affinity)) as? CLIPTask)
        let task = try XCTUnwrap(try CLIPFamily.makeTask(settings: chosen) as? CLIPTask)
        XCTAssertEqual(own.teacher?.scale ?? 0, Foundation.exp(teacher.model.logitScale.value.scalar), accuracy: 1e-6)
        XCTAssertEqual(task.teacher?.scale, 5)
        let outputs = withoutGradients { task.forward(try! batch(task, count: 4)) }.global
        let loss = try task.globalLoss(outputs, communicator: LocalCommunicator())
        func affinity(teacherScale: Float) -> Float {
            AffinityDistillationEvaluation(localImage: outputs[0], localText: outputs[1], gatheredImage: outputs[0], gatheredText: outputs[1],
                                           logitScale: task.model.logitScale.value.scalar,
                                           teacher: (outputs[2], outputs[3], outputs[2], outputs[3]), teacherScale: teacherScale).loss
        }
        XCTAssertEqual(loss.terms["distill_affinity"] ?? 0, affinity(teacherScale: 5), accuracy: 1e-5)
        XCTAssertGreaterThan(abs(affinity(teacherScale: 5) - affinity(teacherScale: own.teacher!.scale!)), 1e-3)
    }

    func testBadTeachersAreOneLineErrorsNamingTheFile() throws {
        let teacher = try writeTeacher(embedDim: 64, contextLength: 12)
        XCTAssertThrowsError(try CLIPFamily.makeTask(settings: settings(teacher: teacher.weights, model: teacher.config, loss: .affinity))) {
            XCTAssert("\($0)".contains("context length is 12, the student's 16") && "\($0)".contains(teacher.weights), "\($0)")
        }
        let good = try writeTeacher(embedDim: 64)
        XCTAssertThrowsError(try CLIPFamily.makeTask(settings: settings(teacher: good.weights, model: "", loss: .affinity))) {
            XCTAssert("\($0)".contains("--distill-teacher-model"), "\($0)")
        }
        XCTAssertThrowsError(try CLIPFamily.makeTask(settings: settings(teacher: folder + "/none.safetensors", model: good.config, loss: .affinity))) {
            XCTAssert("\($0)".contains("none.safetensors: no such weights file"), "\($0)")
        }
        var siglip = settings(teacher: good.weights, model: good.config, loss: .affinity)
        siglip.siglip = true
        XCTAssertThrowsError(try CLIPFamily.makeTask(settings: siglip)) { XCTAssert("\($0)".contains("--siglip"), "\($0)") }
    }
}
