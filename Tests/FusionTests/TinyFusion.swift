import Fusion
import NN
import TensorCore
import TrainingKit

/// Tiny fusion models and batches for the tests: 8 px images in 4 px patches, 4-token texts of 8 ids, 8 × 10
/// spectrograms in overlapping 4 × 4 patches every 3, width 8.
enum TinyFusion {
    static var towers: FusionTowerConfigs {
        var vision = VisionTransformerConfig()
        vision.imageSize = 8
        vision.patchSize = 4
        vision.width = 8
        vision.layers = 1
        vision.headWidth = 4
        var text = TextTransformerConfig()
        text.contextLength = 4
        text.vocabSize = 8
        text.width = 8
        text.heads = 2
        text.layers = 1
        var towers = FusionTowerConfigs()
        towers.vision = vision
        towers.visionOutputDim = 6
        towers.text = text
        towers.textOutputDim = 5
        var audio = SpectrogramTransformerConfig()
        audio.melBins = 8
        audio.frames = 10
        audio.patchSize = 4
        audio.patchStride = 3
        audio.width = 8
        audio.layers = 1
        audio.headWidth = 4
        towers.audio = audio
        towers.audioOutputDim = 4
        return towers
    }

    static func task(_ fusion: FusionKind, modalities: [FusionModality] = [.image, .text], learned: Bool = false, classes: Int = 3,
                     dropout: Double = 0, seed: UInt64 = 1, classWeights: String = "", multiLabel: Bool = false,
                     unimodalHeads: Bool = false, objective: FusionObjective = .fused) -> FusionTask {
        let config = FusionModelConfig(fusion: fusion, modalities: modalities, classes: classes, lateLearnedWeights: learned, gatedWidth: 7,
                                       earlyWidth: 8, earlyLayers: 1, earlyHeads: 2, towers: towers, unimodalHeads: unimodalHeads)
        var settings = Settings()
        settings.modalityDropout = dropout
        settings.seed = seed
        settings.classWeights = classWeights
        settings.multiLabel = multiLabel
        settings.fusionObjective = objective
        return try! FusionTask(model: FusionModel(config: config, seed: seed), settings: settings)
    }

    /// A fusion run of `steps` steps in `stages` at a constant learning rate 0.01, batch 16 (as `ColourWordXOR(batch: 16)`).
    static func stagedSettings(steps: Int, stages: [Stage]) -> Settings {
        var settings = Settings()
        settings.task = "fusion"
        settings.batchSize = 16
        settings.maxSteps = steps
        settings.lr = 0.01
        settings.warmup = 0
        settings.lrScheduler = .const
        settings.stages = StageList(stages)
        return settings
    }

    /// Random images, token rows ending in the largest id (the pooled end-of-text token), spectrograms, labels and sample
    /// indices.
    static func batch(count: Int, classes: Int = 3, seed: UInt64 = 3) -> TaskBatch {
        var generator = SplitMix64(seed: seed)
        let images = Tensor.randomNormal([count, 3, 8, 8], using: &generator)
        var tokens: [Int32] = [], labels: [Int32] = []
        for _ in 0..<count {
            tokens += [Int32(generator.next() % 6) + 1, Int32(generator.next() % 6) + 1, 7, 0]
            labels.append(Int32(generator.next() % UInt64(classes)))
        }
        let spectrograms = Tensor.randomNormal([count, 1, 8, 10], using: &generator)
        return TaskBatch(count: count, tensors: ["image": images, "audio": spectrograms],
                         integers: ["text": tokens, "label": labels, "sample_index": (0..<count).map { Int32($0) }])
    }
}
