import CLIP
import NN
import TensorCore
import Training
import TrainingKit
import XCTest

/// Mined hard-negative captions (`--hard-negatives`) through the engine: the batch's negative token rows reach CLIPTask's
/// global loss as extra image→text columns, and GradCache keeps the loss and gradients exact.
extension StepEngineTests {
    static func minedNegativeSettings() -> Settings {
        var settings = Settings()
        settings.hardNegatives = "negatives.jsonl"  // read by the data source only; a set value turns the columns on
        settings.hardNegativesPerSample = 2
        return settings
    }

    /// The parity batch with two negative slots per sample: other samples' captions, every third slot empty.
    func minedNegativeBatch(_ parity: Parity) throws -> (batch: TaskBatch, filledTokens: [Int32]) {
        var batch = try batch(parity)
        let tokens = batch.rows("text"), count = batch.count, context = tokens.count / count
        var negatives: [Int32] = [], mask: [Float] = [], filled: [Int32] = []
        for i in 0..<count {
            for slot in 0..<2 {
                let other = (i + 1 + slot) % count
                let row = Array(tokens[(other * context)..<((other + 1) * context)])
                negatives += row
                let present = (2 * i + slot) % 3 != 2
                mask.append(present ? 1 : 0)
                if present { filled += row }
            }
        }
        batch.integers["hard_negative_text"] = negatives
        batch.tensors["hard_negative_mask"] = Tensor(shape: [count, 2], values: mask)
        return (batch, filled)
    }

    func testMinedNegativeStepLossIsTheLossOfTheEmbeddings() throws {
        let (engine, parity) = try makeEngine(settings: Self.minedNegativeSettings())
        let (batch, filled) = try minedNegativeBatch(parity)
        let model = try parity.makeModel()
        let expected: Float = withoutGradients {
            let image = model.encodeImage(batch.tensor("image")), text = model.encodeText(batch.rows("text"))
            return ClipLossEvaluation(localImage: image, localText: text, gatheredImage: image, gatheredText: text,
                                      logitScale: model.logitScale.value.scalar, rank: 0, extraTextColumns: model.encodeText(filled)).loss
        }
        let trainable = [Bool](repeating: true, count: engine.task.parameters.parameters.count)
        let outcome = try engine.step(batch, trainable: trainable, learningRate: 0)
        XCTAssertEqual(outcome.loss, Double(expected), accuracy: 1e-6 * Double(expected))
        let (plain, _) = try makeEngine()
        XCTAssertGreaterThan(outcome.loss - (try plain.step(batch, trainable: trainable, learningRate: 0).loss), 1e-3)
    }

    func testMinedNegativeGradCacheAccumulationEqualsOneShotGradients() throws {
        let settings = Self.minedNegativeSettings()
        let (oneShot, parity) = try makeEngine(settings: settings)
        let (batch, _) = try minedNegativeBatch(parity)
        let trainable = [Bool](repeating: true, count: oneShot.task.parameters.parameters.count)
        let loss = try oneShot.step(batch, trainable: trainable, learningRate: 0).loss
        let (accumulated, _) = try makeEngine(accumulation: 2, settings: settings)
        XCTAssertEqual(try accumulated.step(batch, trainable: trainable, learningRate: 0).loss, loss, accuracy: 1e-6 * loss)
        assertSameGradients(oneShot, accumulated, "mined negatives k=2")
    }
}
