import CoCa
import Distributed
import NN
import TensorCore
import Training
import TrainingKit
import XCTest

/// Hard negatives in CoCa's contrastive term (`HardNegativeSettings`, shared with CLIP): HN-NCE's flags and mined
/// captions through the unimodal text tower, never through the decoder or the caption loss.
extension CoCaTrainingTests {
    /// The fixture batch with two negative slots per sample (other samples' captions), every third slot empty; with
    /// `allEmpty` every slot is empty.
    func minedNegativeBatch(_ batch: TaskBatch, allEmpty: Bool = false) -> TaskBatch {
        var batch = batch
        let tokens = batch.rows("text"), count = batch.count, context = tokens.count / count
        var negatives: [Int32] = [], mask: [Float] = []
        for i in 0..<count {
            for slot in 0..<2 {
                let other = (i + 3 + slot) % count
                negatives += tokens[(other * context)..<((other + 1) * context)]
                mask.append(!allEmpty && (2 * i + slot) % 3 != 2 ? 1 : 0)
            }
        }
        batch.integers["hard_negative_text"] = negatives
        batch.tensors["hard_negative_mask"] = Tensor(shape: [count, 2], values: mask)
        return batch
    }

    static func minedNegativeSettings(_ arguments: [String] = []) throws -> Settings {
        try Families.settings(arguments: ["--task", "coca", "--hard-negatives", "negatives.jsonl", "--hard-negatives-per-sample", "2"] + arguments)
    }

    func gradients(_ engine: StepEngine) -> [Float] { Array(engine.gradients[0..<engine.task.parameters.count]) }

    /// `--hn-beta 0 --hn-alpha 1` given explicitly, and mined-negative slots that are all empty, train exactly as plain
    /// CoCa: the same loss and gradients bit for bit.
    func testPlainHardNegativeSettingsAreCoCaBitForBit() throws {
        let (plain, batch) = try makeEngine()
        let trainable = [Bool](repeating: true, count: plain.task.parameters.parameters.count)
        let loss = try plain.step(batch, trainable: trainable, learningRate: 0).loss
        let (beta0, _) = try makeEngine(settings: try Families.settings(arguments: ["--task", "coca", "--hn-beta", "0", "--hn-alpha", "1"]))
        XCTAssertEqual(try beta0.step(batch, trainable: trainable, learningRate: 0).loss, loss)
        XCTAssertEqual(gradients(beta0), gradients(plain))
        let (empty, _) = try makeEngine(settings: try Self.minedNegativeSettings())
        XCTAssertEqual(try empty.step(minedNegativeBatch(batch, allEmpty: true), trainable: trainable, learningRate: 0).loss, loss)
        XCTAssertEqual(gradients(empty), gradients(plain))
    }

    /// The engine's gradient with mined negatives (and HN-NCE weights) against central finite differences of the loss
    /// (caption + contrastive, evaluated without a tape) along three directions: the text tower's part of that gradient,
    /// what the negatives add to the gradient (with negatives minus without), and a random one over every parameter.
    /// Along the second, the gradient without negatives is far outside the tolerance.
    func testMinedNegativeGradientsMatchFiniteDifferences() throws {
        let settings = try Self.minedNegativeSettings(["--hn-beta", "0.5", "--hn-alpha", "0.9"])
        let (engine, plainBatch) = try makeEngine(settings: settings)
        let batch = minedNegativeBatch(plainBatch)
        let task = engine.task, store = task.parameters
        let trainable = [Bool](repeating: true, count: store.parameters.count)
        let loss = try engine.step(batch, trainable: trainable, learningRate: 0).loss
        let g = gradients(engine).map(Double.init)
        let (plain, _) = try makeEngine(settings: try Families.settings(arguments: ["--task", "coca", "--hn-beta", "0.5", "--hn-alpha", "0.9"]))
        _ = try plain.step(plainBatch, trainable: trainable, learningRate: 0)
        let plainGradient = gradients(plain).map(Double.init)
        func lossAt(_ direction: [Double], _ epsilon: Double) throws -> Double {
            let values = store.flatValues, saved = Array(values)
            defer { for i in 0..<saved.count { values[i] = saved[i] } }
            for i in 0..<saved.count { values[i] = Float(Double(saved[i]) + epsilon * direction[i]) }
            let outputs = withoutGradients { task.forward(batch) }
            return Double(outputs.local!.scalar) + Double(try task.globalLoss(outputs.global, communicator: LocalCommunicator()).loss)
        }
        XCTAssertEqual(try lossAt([Double](repeating: 0, count: g.count), 0), loss, accuracy: 1e-5 * loss)
        var textTower = [Double](repeating: 0, count: g.count)
        for p in store.parameters where p.name.hasPrefix("text.") {
            for i in p.offset..<(p.offset + p.count) { textTower[i] = g[i] }
        }
        var random = SplitMix64(seed: 7)
        let directions = [("text tower", textTower), ("added by the negatives", zip(g, plainGradient).map { $0 - $1 }),
                          ("random", Tensor.randomNormal([g.count], using: &random).values.map(Double.init))]
        for (label, direction) in directions {
            let norm = direction.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let unit = direction.map { $0 / norm }
            // Small enough for the curvature along the large text-tower gradient, large enough for float32 losses.
            let epsilon = 3e-4
            let numeric = (try lossAt(unit, epsilon) - (try lossAt(unit, -epsilon))) / (2 * epsilon)
            let analytic = zip(g, unit).reduce(0) { $0 + $1.0 * $1.1 }, tolerance = 2e-3 * abs(analytic) + 5e-3
            XCTAssertEqual(numeric, analytic, accuracy: tolerance, label)
            if label == "added by the negatives" {
                XCTAssertGreaterThan(abs(analytic - zip(plainGradient, unit).reduce(0) { $0 + $1.0 * $1.1 }), 10 * tolerance)
            }
        }
    }

    /// GradCache over two micro-batches gives the one-shot loss and gradients with mined negatives.
    func testMinedNegativeGradCacheEqualsOneShot() throws {
        let settings = try Self.minedNegativeSettings()
        let (oneShot, plainBatch) = try makeEngine(settings: settings)
        let batch = minedNegativeBatch(plainBatch)
        let trainable = [Bool](repeating: true, count: oneShot.task.parameters.parameters.count)
        let loss = try oneShot.step(batch, trainable: trainable, learningRate: 0).loss
        let (accumulated, _) = try makeEngine(settings: settings)
        accumulated.accumulation = 2
        let accumulatedLoss = try accumulated.step(batch, trainable: trainable, learningRate: 0).loss
        // The caption term is each micro-batch's token mean (see CoCaTask), so compare the contrastive part through the
        // gradients of the text tower's projection only where the caption loss is the same: both runs, minus plain ones.
        let (plainOne, _) = try makeEngine(), (plainTwo, _) = try makeEngine()
        plainTwo.accumulation = 2
        let plainLoss = try plainOne.step(plainBatch, trainable: trainable, learningRate: 0).loss
        let plainTwoLoss = try plainTwo.step(plainBatch, trainable: trainable, learningRate: 0).loss
        XCTAssertEqual(accumulatedLoss - plainTwoLoss, loss - plainLoss, accuracy: 1e-5 * loss)
        let a = zip(gradients(oneShot), gradients(plainOne)).map { $0 - $1 }, b = zip(gradients(accumulated), gradients(plainTwo)).map { $0 - $1 }
        let scale = a.map { abs($0) }.max()!
        XCTAssertGreaterThan(scale, 0)
        XCTAssertLessThanOrEqual(zip(a, b).map { abs($0 - $1) }.max()!, 1e-4 * scale)
    }

    /// Settings that shape a contrastive loss are errors where there is none, as is a choice among a file's entries
    /// without the file; CLIP-only flags are refused by CoCa.
    func testHardNegativeFlagsWithoutAContrastiveLossAreErrors() throws {
        for flags in [["--hn-beta", "0.5"], ["--hard-negatives", "x.jsonl"]] {
            let settings = try Families.settings(arguments: ["--task", "coca", "--coca-contrastive-loss-weight", "0"] + flags)
            XCTAssertThrowsError(try CoCaFamily.makeTask(settings: settings)) { error in
                XCTAssertTrue("\(error)".contains("--coca-contrastive-loss-weight 0"), "\(error)")
            }
        }
        XCTAssertThrowsError(try Families.settings(arguments: ["--task", "coca", "--siglip"]))
        for flags in [["--hard-negatives-per-sample", "2"], ["--hard-negatives-sampling", "random"]] {
            XCTAssertThrowsError(try CoCaFamily.makeTask(settings: try Families.settings(arguments: ["--task", "coca"] + flags))) { error in
                XCTAssertTrue("\(error)".hasSuffix("it does nothing without --hard-negatives FILE"), "\(error)")
            }
        }
    }
}
