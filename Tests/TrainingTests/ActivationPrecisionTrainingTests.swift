import CLIP
import Distributed
import Optim
import TensorCore
import Training
import TrainingKit
import XCTest

/// `--activation-dtype bf16` through the engine on OpenCLIP's clip-tiny fixture: every parameter's gradient within
/// bfloat16's rounding of float32's, the same loss, and training steps that follow the float32 run.
final class ActivationPrecisionTrainingTests: XCTestCase {
    func makeEngine(_ precision: ActivationPrecision) throws -> (StepEngine, TaskBatch) {
        let parity = try Parity(fixture: FixturePaths.clipTiny)
        let engine = try StepEngine(task: CLIPTask(model: try parity.makeModel(), settings: Settings()), communicator: LocalCommunicator(),
                                    hyperparameters: AdamW.Hyperparameters(beta1: 0.9, beta2: 0.98, epsilon: 1e-6, weightDecay: 0.2))
        engine.activationPrecision = precision
        let (images, tokens) = try parity.batch()
        return (engine, TaskBatch(count: images.shape[0], tensors: ["image": images], integers: ["text": tokens]))
    }

    func testGradientsAndStepsFollowFloat32() throws {
        let (full, batch) = try makeEngine(.fp32)
        let (half, _) = try makeEngine(.bf16)
        let trainable = [Bool](repeating: true, count: full.task.parameters.parameters.count)
        var fullLosses: [Double] = [], halfLosses: [Double] = []
        for step in 0..<4 {
            fullLosses.append(try full.step(batch, trainable: trainable, learningRate: 1e-3).loss)
            halfLosses.append(try half.step(batch, trainable: trainable, learningRate: 1e-3).loss)
            XCTAssertEqual(Tape.shared.activationPrecision, .fp32, "the engine leaves the tape as it found it")
            guard step == 0 else { continue }
            XCTAssertEqual(halfLosses[0], fullLosses[0], "forward computes in float32 either way")
            var moved = false
            for p in full.task.parameters.parameters {
                let a = Array(full.gradients[p.offset..<(p.offset + p.count)]), b = Array(half.gradients[p.offset..<(p.offset + p.count)])
                let scale = max(a.map { abs($0) }.max()!, 1e-12), worst = zip(a, b).map { abs($0 - $1) }.max()!
                // The key third of in_proj_bias has a true gradient of zero: only rounding is left to compare there.
                XCTAssertLessThanOrEqual(worst, 2e-2 * scale + 1e-7, "\(p.name): max difference \(worst), max |g| \(scale)")
                moved = moved || worst > 0
            }
            XCTAssertTrue(moved, "bf16 storage changes the gradients' rounding, so it was in use")
        }
        print("losses over 4 steps: fp32 \(fullLosses), bf16 activations \(halfLosses)")
        XCTAssertLessThan(halfLosses.last!, halfLosses.first!, "the bf16 run trains")
        for (a, b) in zip(fullLosses, halfLosses) { XCTAssertEqual(a, b, accuracy: 2e-3 * abs(a)) }
    }
}
