import CLIP
import TensorCore

/// Random images and token rows for throughput benchmarks (`--dataset-type random`): nothing to learn,
/// no loading cost, deterministic from the seed and the sample index.
public final class RandomDataSource: TrainingDataSource {
    let config: CLIPConfig
    let batch: Int, rank: Int, worldSize: Int, seed: UInt64
    public let samplesPerEpoch: Int
    var samplesSeen = 0

    public init(config: CLIPConfig, batchPerRank: Int, rank: Int, worldSize: Int, samplesPerEpoch: Int, seed: UInt64) {
        self.config = config
        batch = batchPerRank
        self.rank = rank
        self.worldSize = worldSize
        self.samplesPerEpoch = samplesPerEpoch
        self.seed = seed
    }

    public func seek(samplesSeen: Int) { self.samplesSeen = samplesSeen }

    public func next() -> LocalBatch {
        // Seeded by the global index of the rank's first sample, so the global batch does not depend on the world size.
        var generator = SeededGenerator(seed: seed, stream: UInt64(samplesSeen + rank * batch))
        samplesSeen += batch * worldSize
        let v = config.vision, t = config.text
        let images = Tensor.randomNormal([batch, 3, v.imageSize, v.imageSize], using: &generator)
        var tokens = [Int32](repeating: 0, count: batch * t.contextLength)
        for b in 0..<batch {
            let length = 2 + Int(generator.next() % UInt64(max(t.contextLength - 1, 1)))
            for i in 0..<(length - 1) { tokens[b * t.contextLength + i] = Int32(1 + generator.next() % UInt64(t.vocabSize - 2)) }
            tokens[b * t.contextLength + length - 1] = Int32(t.vocabSize - 1)
        }
        return LocalBatch(images: images, tokens: tokens, waitSeconds: 0)
    }
}
