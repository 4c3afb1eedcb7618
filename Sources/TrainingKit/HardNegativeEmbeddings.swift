import Distributed
import TensorCore

/// This rank's embeddings of its samples' mined hard negatives (`--hard-negatives` captions or images):
/// `embeddings` [B, K·D], sample i's k-th negative at columns k·D ..< (k+1)·D, and `mask` [B, K], 1 where sample i has a
/// k-th negative (a sample with fewer, or none, leaves its other slots empty). One row per sample, so micro-batches and
/// GradCache slice them like the images.
public struct HardNegativeEmbeddings {
    public var embeddings: Tensor, mask: Tensor

    public init(embeddings: Tensor, mask: Tensor) {
        precondition(embeddings.rank == 2 && mask.rank == 2 && embeddings.shape[0] == mask.shape[0] && mask.shape[1] > 0
                     && embeddings.shape[1] % mask.shape[1] == 0,
                     "hard negatives: embeddings \(embeddings.shape) and mask \(mask.shape) do not fit")
        (self.embeddings, self.mask) = (embeddings, mask)
    }

    /// K, the negative slots per sample.
    public var slots: Int { mask.shape[1] }
}

/// Every rank's hard negatives, rank order then sample order then slot: the filled slots as columns [M, D], and the
/// way back from their gradient to this rank's [B, K·D]. One rank and several see the same columns in the same order.
struct GatheredNegatives {
    let exchange: FeatureExchange
    /// Gathered row-slot index (row · K + k) of each column.
    let filled: [Int]
    let slots: Int, width: Int, gatheredRows: Int, localRows: Int
    let columns: Tensor

    init(_ local: HardNegativeEmbeddings, communicator: Communicator) throws {
        localRows = local.embeddings.shape[0]
        slots = local.slots
        width = local.embeddings.shape[1] / slots
        exchange = FeatureExchange(localRows: localRows, featureDimension: slots * width, communicator: communicator)
        let maskExchange = FeatureExchange(localRows: localRows, featureDimension: slots, communicator: communicator)
        let embeddings = try exchange.gathered(local.embeddings), mask = try maskExchange.gathered(local.mask)
        gatheredRows = embeddings.shape[0]
        let present = mask.values
        filled = present.indices.filter { present[$0] > 0 }
        var values = [Float](repeating: 0, count: filled.count * width)
        let source = embeddings.values
        for (column, slot) in filled.enumerated() {
            values.replaceSubrange(column * width ..< (column + 1) * width, with: source[slot * width ..< (slot + 1) * width])
        }
        columns = Tensor(shape: [filled.count, width], values: values)
    }

    /// The gradients of this rank's outputs: of the [B, K·D] embeddings, each column's gradient back in its slot (empty
    /// slots 0, every rank's contributions summed for this rank's rows), then of the constant mask (zeros).
    func ownGradients(_ columnGradient: Tensor?) throws -> [Tensor] {
        var values = [Float](repeating: 0, count: gatheredRows * slots * width)
        if let columnGradient {
            let gradient = columnGradient.values
            for (column, slot) in filled.enumerated() {
                values.replaceSubrange(slot * width ..< (slot + 1) * width, with: gradient[column * width ..< (column + 1) * width])
            }
        }
        return [try exchange.ownRows(Tensor(shape: [gatheredRows, slots * width], values: values)), Tensor.zeros([localRows, slots])]
    }
}
