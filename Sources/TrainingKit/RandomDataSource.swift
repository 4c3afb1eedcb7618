import TensorCore

/// Random images and token rows for throughput measurements (`--dataset-type random`): nothing to learn, no loading
/// cost, deterministic from the seed and the sample index. Fields `image` `[B, 3, size, size]` and `text`.
public final class RandomDataSource: TrainingDataSource {
    let imageSize: Int, contextLength: Int, vocabularySize: Int
    let batch: Int, rank: Int, worldSize: Int, seed: UInt64
    public let samplesPerEpoch: Int
    var samplesSeen = 0

    public init(imageSize: Int, contextLength: Int, vocabularySize: Int, batchPerRank: Int, rank: Int, worldSize: Int,
                samplesPerEpoch: Int, seed: UInt64) {
        self.imageSize = imageSize
        self.contextLength = contextLength
        self.vocabularySize = vocabularySize
        batch = batchPerRank
        self.rank = rank
        self.worldSize = worldSize
        self.samplesPerEpoch = samplesPerEpoch
        self.seed = seed
    }

    public func seek(samplesSeen: Int) { self.samplesSeen = samplesSeen }

    /// A caption's length in token positions, end-of-text token included: uniform over 2...contextLength.
    static func captionLength(contextLength: Int, using generator: inout SplitMix64) -> Int {
        2 + Int(generator.next() % UInt64(max(contextLength - 1, 1)))
    }

    /// The caption lengths of a batch of `batch` samples, end-of-text token included: what a text tower that stops at
    /// each caption's end computes on one batch (every batch draws from the same distribution).
    public static func captionLengths(batch: Int, contextLength: Int) -> [Int] {
        let source = RandomDataSource(imageSize: 1, contextLength: contextLength, vocabularySize: 3, batchPerRank: batch, rank: 0,
                                      worldSize: 1, samplesPerEpoch: batch, seed: 0)
        let tokens = source.next().integers["text"] ?? []
        return (0..<batch).map { b in (tokens[(b * contextLength)..<((b + 1) * contextLength)].firstIndex(of: 2) ?? 0) - b * contextLength + 1 }
    }

    public func next() -> TaskBatch {
        // Seeded by the global index of the rank's first sample, so the global batch does not depend on the world size.
        var generator = SplitMix64(seed: seed, stream: UInt64(samplesSeen + rank * batch))
        samplesSeen += batch * worldSize
        let images = Tensor.randomNormal([batch, 3, imageSize, imageSize], using: &generator)
        var tokens = [Int32](repeating: 0, count: batch * contextLength)
        for b in 0..<batch {
            // Random lengths with the end-of-text id (the largest) last, as pooled text models expect.
            let length = Self.captionLength(contextLength: contextLength, using: &generator)
            for i in 0..<(length - 1) { tokens[b * contextLength + i] = Int32(1 + generator.next() % UInt64(vocabularySize - 2)) }
            tokens[b * contextLength + length - 1] = Int32(vocabularySize - 1)
        }
        return TaskBatch(count: batch, tensors: ["image": images], integers: ["text": tokens])
    }
}
