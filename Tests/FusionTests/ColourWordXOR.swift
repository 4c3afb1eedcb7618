import TensorCore
import TrainingKit

/// A data set where neither modality alone says anything about the class: the image is red or blue (plus noise), the
/// text holds the word 1 or 2, and the class is colour XOR word. Batch i is the same whatever was asked before it.
final class ColourWordXOR: TrainingDataSource {
    let batch: Int
    let seed: UInt64
    var index = 0
    let samplesPerEpoch = 1 << 20

    init(batch: Int, seed: UInt64 = 21) {
        self.batch = batch
        self.seed = seed
    }

    func seek(samplesSeen: Int) { index = samplesSeen / batch }

    func next() -> TaskBatch {
        var generator = SplitMix64(seed: seed, stream: UInt64(index))
        let first = index * batch
        index += 1
        var pixels: [Float] = [], tokens: [Int32] = [], labels: [Int32] = []
        for _ in 0..<batch {
            let red = generator.next() % 2 == 0, word = generator.next() % 2 == 0
            for channel in 0..<3 {
                let level: Float = channel == 0 ? (red ? 1 : -1) : channel == 2 ? (red ? -1 : 1) : 0
                for _ in 0..<64 { pixels.append(level + 0.3 * (generator.nextUniform() - 0.5)) }
            }
            tokens += [word ? 1 : 2, Int32(3 + generator.next() % 3), 7, 0]
            labels.append(red != word ? 1 : 0)
        }
        return TaskBatch(count: batch, tensors: ["image": Tensor(shape: [batch, 3, 8, 8], values: pixels)],
                         integers: ["text": tokens, "label": labels, "sample_index": (0..<batch).map { Int32(first + $0) }])
    }
}
