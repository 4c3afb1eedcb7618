import NN
@testable import TensorCore
import XCTest

/// `--activation-dtype bf16`: the tape keeps the inputs of fused linear layers, MLPs and attention as bfloat16, forward
/// values are unchanged (computed in float32) and gradients stay within bfloat16's rounding of float32's.
final class ActivationPrecisionTests: XCTestCase {
    override func tearDown() {
        Tape.shared.activationPrecision = .fp32
        Tape.shared.reset()
    }

    func makeTransformer() -> (ParameterStore, Transformer) {
        let store = ParameterStore()
        let transformer = Transformer(ParameterBuilder(store: store, seed: 3).scope("t"), width: 32, layers: 3, heads: 4, mlpWidth: 128)
        store.seal()
        perturb(store, seed: 4)
        return (store, transformer)
    }

    func run(_ precision: ActivationPrecision, recomputingMLP: Bool = false) -> (Tensor, [Tensor?]) {
        let (store, transformer) = makeTransformer()
        var generator = SplitMix64(seed: 5)
        let x = Tensor.randomNormal([4, 10, 32], using: &generator), r = Tensor.randomNormal([4, 10, 32], using: &generator)
        var blocks = transformer
        blocks.mlpRecomputedBlocks = recomputingMLP ? 1 : 0
        Tape.shared.activationPrecision = precision
        defer { Tape.shared.activationPrecision = .fp32 }
        return withExtendedLifetime(store) { outputAndGradients(store: store, inputs: [x], r: r) { blocks($0[0], causal: true) } }
    }

    func testGradientsStayWithinBFloat16RoundingOfFloat32() {
        for recomputingMLP in [false, true] {
            let (full, fullGradients) = run(.fp32, recomputingMLP: recomputingMLP)
            let (half, halfGradients) = run(.bf16, recomputingMLP: recomputingMLP)
            XCTAssertEqual(half.values, full.values, "forward computes in float32 either way")
            // bfloat16 keeps 8 significant bits (relative rounding ≤ 2⁻⁹ ≈ 0.2 %); through three blocks the worst entry of a
            // gradient moves by a few of those relative to the tensor's largest entry.
            assertSameGradients(halfGradients, fullGradients, relative: 2e-2, "bf16 activations, MLP recomputed: \(recomputingMLP)")
            let moved = zip(halfGradients, fullGradients).contains { a, b in a.map(\.values) != b.map(\.values) }
            XCTAssertTrue(moved, "bf16 storage changes the gradients' rounding, so it was in use")
            var worst: Float = 0, largest: Float = 0
            for (a, b) in zip(halfGradients, fullGradients) {
                guard let a, let b else { continue }
                worst = max(worst, zip(a.values, b.values).map { abs($0 - $1) }.max() ?? 0)
                largest = max(largest, b.values.map(abs).max() ?? 0)
            }
            print("bf16 activations, MLP recomputed \(recomputingMLP): worst gradient difference \(worst), largest gradient \(largest)")
        }
    }

    func testTheTapeKeepsTheBigActivationsAsBFloat16() {
        let (store, transformer) = makeTransformer()
        var generator = SplitMix64(seed: 5)
        let x = Tensor.randomNormal([2, 10, 32], using: &generator)
        for precision in ActivationPrecision.allCases {
            Tape.shared.reset()
            Tape.shared.activationPrecision = precision
            store.track()
            _ = transformer(x.tracked(), causal: true)
            store.untrack()
            var kept: [String: [Bool]] = [:]
            for node in Tape.shared.nodes {
                switch node.op {
                case .fusedLinear(let c): kept["fusedLinear", default: []].append(c.input.isBFloat16)
                case .fusedMLP(let c): kept["fusedMLP", default: []].append(c.input.isBFloat16 && c.preActivation?.isBFloat16 == true)
                case .attentionProjection(let c): kept["attentionProjection", default: []].append(c.attention.inputs.isEmpty)
                default: break
                }
            }
            let expected = precision == .bf16
            XCTAssertEqual(kept, ["fusedLinear": [expected, expected, expected], "fusedMLP": [expected, expected, expected],
                                  "attentionProjection": [expected, expected, expected]], "\(precision)")
        }
        Tape.shared.activationPrecision = .fp32
        Tape.shared.reset()
        withExtendedLifetime(store) {}
    }

    func testNothingIsConvertedWithoutRecording() {
        Tape.shared.activationPrecision = .bf16
        let (store, transformer) = makeTransformer()
        var generator = SplitMix64(seed: 5)
        let x = Tensor.randomNormal([2, 10, 32], using: &generator)
        let evaluated = withoutGradients { transformer(x, causal: true) }
        Tape.shared.activationPrecision = .fp32
        XCTAssertEqual(evaluated.values, withoutGradients { transformer(x, causal: true) }.values)
        XCTAssertTrue(Tape.shared.nodes.isEmpty)
        withExtendedLifetime(store) {}
    }
}
