import CLIP
import NN
import TensorCore
import Training
import TrainingKit
import XCTest

/// HN-NCE through the engine: `--hn-beta`/`--hn-alpha` reach CLIPTask's global loss, and GradCache keeps it exact.
extension StepEngineTests {
    static func hardNegativeSettings() -> Settings {
        var settings = Settings()
        settings.hnBeta = 0.5
        settings.hnAlpha = 0.9
        return settings
    }

    func testHardNegativeStepLossIsTheLossOfTheEmbeddings() throws {
        let settings = Self.hardNegativeSettings()
        let (engine, parity) = try makeEngine(settings: settings)
        let batch = try batch(parity)
        let model = try parity.makeModel()
        let expected: Float = withoutGradients {
            let image = model.encodeImage(batch.tensor("image")), text = model.encodeText(batch.rows("text"))
            return ClipLossEvaluation(localImage: image, localText: text, gatheredImage: image, gatheredText: text,
                                      logitScale: model.logitScale.value.scalar, rank: 0, hardNegatives: settings.hardNegativeWeighting).loss
        }
        let trainable = [Bool](repeating: true, count: engine.task.parameters.parameters.count)
        let outcome = try engine.step(batch, trainable: trainable, learningRate: 0)
        XCTAssertEqual(outcome.loss, Double(expected), accuracy: 1e-6 * Double(expected))
        let (plain, _) = try makeEngine()
        XCTAssertGreaterThan(abs(try plain.step(batch, trainable: trainable, learningRate: 0).loss - outcome.loss), 1e-3)
    }

    func testHardNegativeGradCacheAccumulationEqualsOneShotGradients() throws {
        let settings = Self.hardNegativeSettings()
        let (oneShot, parity) = try makeEngine(settings: settings)
        let batch = try batch(parity)
        let trainable = [Bool](repeating: true, count: oneShot.task.parameters.parameters.count)
        _ = try oneShot.step(batch, trainable: trainable, learningRate: 0)
        let (accumulated, _) = try makeEngine(accumulation: 2, settings: settings)
        _ = try accumulated.step(batch, trainable: trainable, learningRate: 0)
        assertSameGradients(oneShot, accumulated, "HN-NCE k=2")
    }

    func testSigLIPRefusesHardNegativeSettings() throws {
        var settings = Self.hardNegativeSettings()
        settings.siglip = true
        XCTAssertThrowsError(try CLIPFamily.makeTask(settings: settings)) { XCTAssertTrue("\($0)".contains("--siglip"), "\($0)") }
    }
}
