import NN
import TensorCore
import XCTest

/// `keepingRows`: a transformer whose last block computes only the rows read afterwards (the towers' pooled rows,
/// with the text tower's causal mask or without, as the image tower) gives those rows' values and every gradient of
/// running the whole stack and gathering them.
final class TransformerKeepingRowsTests: XCTestCase {
    let (batch, tokens, width) = (3, 5, 16)
    /// One row per sequence, at different positions (as end-of-text tokens are), one sequence read twice.
    let rows: [Int32] = [4, 5 + 2, 10 + 0, 4]

    func makeTransformer() -> (ParameterStore, Transformer) {
        let store = ParameterStore()
        let builder = ParameterBuilder(store: store, seed: 7)
        let transformer = Transformer(builder.scope("transformer"), width: width, layers: 2, heads: 2, mlpWidth: 4 * width,
                                      initStds: TransformerInitStds(width: width, layers: 2))
        store.seal()
        // Non-zero biases and layer-norm affines, so every parameter's gradient is exercised.
        var generator = SeededGenerator(seed: 11)
        for i in 0..<store.count { store.values.pointer[i] += 0.05 * Float(Int(generator.next() % 21) - 10) / 10 }
        return (store, transformer)
    }

    /// Output rows and the gradients of Σ rows ⊙ r with respect to x and every parameter.
    func run(keeping: Bool, causal: Bool, checkpointed: Int = 0, mlpRecomputed: Int = 0, x: Tensor, r: Tensor) -> (Tensor, [Tensor]) {
        var (store, transformer) = makeTransformer()
        transformer.checkpointedBlocks = checkpointed
        transformer.mlpRecomputedBlocks = mlpRecomputed
        Tape.shared.reset()
        store.track()
        let input = x.tracked()
        let output = keeping ? transformer(input, causal: causal, keepingRows: rows)
            : transformer(input, causal: causal).reshaped([batch * tokens, width]).gatherRows(rows)
        let gradients = Tape.shared.backward(from: output, seed: r)
        let result = [gradients[input]!] + store.parameters.map { gradients[$0.leaf!]! }
        store.untrack()
        return (output, result)
    }

    func testKeepingRowsMatchesGatheringTheFullOutput() {
        var generator = SeededGenerator(seed: 3)
        let x = Tensor.randomNormal([batch, tokens, width], using: &generator)
        let r = Tensor.randomNormal([rows.count, width], using: &generator)
        for causal in [true, false] {
            let (full, fullGradients) = run(keeping: false, causal: causal, x: x, r: r)
            for (checkpointed, mlpRecomputed) in [(0, 0), (2, 0), (0, 2)] {
                let (kept, keptGradients) = run(keeping: true, causal: causal, checkpointed: checkpointed, mlpRecomputed: mlpRecomputed, x: x, r: r)
                XCTAssertEqual(kept.shape, [rows.count, width])
                for (a, b) in zip(full.values, kept.values) { XCTAssertEqual(a, b, accuracy: 1e-5) }
                for (index, (a, b)) in zip(fullGradients, keptGradients).enumerated() {
                    XCTAssertEqual(a.shape, b.shape)
                    let scale = max(a.values.map { abs($0) }.max()!, 1e-6)
                    let difference = zip(a.values, b.values).map { abs($0 - $1) }.max()!
                    XCTAssertLessThanOrEqual(difference, 1e-5 * scale,
                                             "gradient \(index), causal \(causal), \(checkpointed) checkpointed, \(mlpRecomputed) MLP recomputed")
                }
            }
        }
        let (full, fullGradients) = run(keeping: false, causal: true, x: x, r: r)
        // The rows differ from one another and no gradient is all zero: the comparison means something.
        XCTAssertNotEqual(full.values[0], full.values[width])
        XCTAssertGreaterThan(fullGradients.map { $0.values.map { abs($0) }.max()! }.min()!, 0)
    }
}
