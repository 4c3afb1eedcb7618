import DataPipeline
import TensorCore
import Text

/// Training batches with each sample's mined negative captions (`HardNegativeCaptions`) added as token rows:
/// `hard_negative_text` (K rows of the context length per sample, K of its negatives chosen by `sampling` for the
/// batch's epoch) and `hard_negative_mask`
/// [count, K] (1 where the slot holds a negative; empty slots hold the empty caption's tokens and are masked out).
public final class HardNegativeDataSource: TrainingDataSource {
    let base: LoaderDataSource
    let captions: HardNegativeCaptions
    let tokenizer: TextTokenizer
    let contextLength: Int
    let slots: Int
    let sampling: HardNegativeSampling
    let seed: UInt64

    /// Checks every key of the file against the training data (a key that is not a sample is an error naming its line).
    public init(base: LoaderDataSource, captions: HardNegativeCaptions, contextLength: Int, slots: Int,
                sampling: HardNegativeSampling = .first, seed: UInt64 = 0) throws {
        precondition(slots > 0, "hard negatives: slots \(slots) must be positive")
        self.base = base
        self.captions = captions
        tokenizer = base.tokenizer
        self.contextLength = contextLength
        self.slots = slots
        self.sampling = sampling
        self.seed = seed
        try captions.checkKeys(known: try base.sampleKeys())
    }

    public var samplesPerEpoch: Int { base.samplesPerEpoch }
    public func seek(samplesSeen: Int) throws { try base.seek(samplesSeen: samplesSeen) }

    public func next() throws -> TaskBatch {
        var batch = try base.next()  // opens the next epoch first when one ends, so `base.epoch` is this batch's
        let empty = tokenizer.encode("", contextLength: contextLength)
        var tokens: [Int32] = [], mask: [Float] = []
        tokens.reserveCapacity(batch.count * slots * contextLength)
        for key in batch.keys {
            let negatives = sampling.choose(from: captions.texts[key] ?? [], count: slots, seed: seed, epoch: base.epoch, key: key)
            for slot in 0..<slots {
                tokens += slot < negatives.count ? tokenizer.encode(negatives[slot], contextLength: contextLength) : empty
                mask.append(slot < negatives.count ? 1 : 0)
            }
        }
        batch.integers["hard_negative_text"] = tokens
        batch.tensors["hard_negative_mask"] = Tensor(shape: [batch.count, slots], values: mask)
        return batch
    }
}

extension LoaderDataSource {
    /// The key of every sample of the source (an index scan; no sample is decoded).
    func sampleKeys() throws -> Set<String> {
        let count = try source.sampleCount()
        let order = try source.makeOrder(seed: 0, epoch: 0, shuffle: false)
        var keys = Set<String>(minimumCapacity: count)
        for position in 0..<count { keys.insert(try source.key(id: try order.sampleID(at: position))) }
        return keys
    }
}
