import Bind
import Distributed
import Foundation
import NN
import TensorCore
import TrainingKit
import XCTest

/// The bind loss's gradients (what the engine back-propagates into the audio tower, and the audio temperature's) against
/// central differences of the loss itself.
final class BindLossGradientTests: XCTestCase {
    func testLossGradientsMatchCentralDifferences() throws {
        let model = BindModel(config: try BindTaskTests.config(), seed: 3, initialScale: 5)
        var settings = Settings()
        settings.task = "bind"
        let task = BindTask(model: model, settings: settings)
        var generator = SplitMix64(seed: 11)
        // Unit rows as the towers return them, detached from any tape: the loss is a function of these values alone.
        let rows = 6, width = 8
        let outputs = (0..<2).map { _ in Tensor(shape: [rows, width], values: Tensor.randomNormal([rows, width], using: &generator).l2Normalized().values) }
        let communicator = LocalCommunicator()
        let analytic = try task.globalLoss(outputs, communicator: communicator)
        func loss(_ values: [[Float]]) throws -> Double {
            Double(try task.globalLoss(values.map { Tensor(shape: [rows, width], values: $0) }, communicator: communicator).loss)
        }
        let step: Float = 1e-2
        for output in 0..<2 {
            for index in stride(from: 0, to: rows * width, by: 5) {
                var plus = outputs.map(\.values), minus = plus
                plus[output][index] += step
                minus[output][index] -= step
                let numeric = (try loss(plus) - loss(minus)) / Double(2 * step)
                XCTAssertEqual(Double(analytic.outputGradients[output].values[index]), numeric, accuracy: 2e-3 * max(1, abs(numeric)),
                               "output \(output) [\(index)]")
            }
        }
        let scale = model.audioLogitScale
        let gradient = try XCTUnwrap(analytic.parameterGradients.first { $0.0 === scale }?.1.first, "audio_logit_scale has a gradient")
        let start = scale.pointer.pointee
        scale.pointer.pointee = start + step
        let up = try loss(outputs.map(\.values))
        scale.pointer.pointee = start - step
        let down = try loss(outputs.map(\.values))
        scale.pointer.pointee = start
        XCTAssertEqual(Double(gradient), (up - down) / Double(2 * step), accuracy: 2e-3)
    }
}
