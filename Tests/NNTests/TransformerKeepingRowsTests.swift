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
        perturb(store, seed: 11)
        return (store, transformer)
    }

    /// Output rows and the gradients of Σ rows ⊙ r with respect to x and every parameter.
    func run(keeping: Bool, causal: Bool, checkpointed: Int = 0, mlpRecomputed: Int = 0, x: Tensor, r: Tensor) -> (Tensor, [Tensor?]) {
        var (store, transformer) = makeTransformer()
        transformer.checkpointedBlocks = checkpointed
        transformer.mlpRecomputedBlocks = mlpRecomputed
        return outputAndGradients(store: store, inputs: [x], r: r) {
            keeping ? transformer($0[0], causal: causal, keepingRows: rows)
                : transformer($0[0], causal: causal).reshaped([batch * tokens, width]).gatherRows(rows)
        }
    }

    func testKeepingRowsMatchesGatheringTheFullOutput() {
        var generator = SplitMix64(seed: 3)
        let x = Tensor.randomNormal([batch, tokens, width], using: &generator)
        let r = Tensor.randomNormal([rows.count, width], using: &generator)
        for causal in [true, false] {
            let (full, fullGradients) = run(keeping: false, causal: causal, x: x, r: r)
            for (checkpointed, mlpRecomputed) in [(0, 0), (2, 0), (0, 2)] {
                let (kept, keptGradients) = run(keeping: true, causal: causal, checkpointed: checkpointed, mlpRecomputed: mlpRecomputed, x: x, r: r)
                XCTAssertEqual(kept.shape, [rows.count, width])
                for (a, b) in zip(full.values, kept.values) { XCTAssertEqual(a, b, accuracy: 1e-5) }
                assertSameGradients(fullGradients, keptGradients, relative: 1e-5,
                                    "causal \(causal), \(checkpointed) checkpointed, \(mlpRecomputed) MLP recomputed")
            }
        }
        let (full, fullGradients) = run(keeping: false, causal: true, x: x, r: r)
        // The rows differ from one another and no gradient is all zero: the comparison means something.
        XCTAssertNotEqual(full.values[0], full.values[width])
        XCTAssertGreaterThan(fullGradients.map { $0!.values.map { abs($0) }.max()! }.min()!, 0)
    }
}
