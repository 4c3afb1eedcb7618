import TensorCore

/// Stream tags keep the different uses of (seed, epoch, index) independent of each other.
enum RandomStream: UInt64 {
    case augmentation = 1, permutation = 2, substitute = 3, shardOrder = 4, shuffleBuffer = 5, synthetic = 6, audioAugmentation = 7, syntheticAudio = 8, subset = 9
}
