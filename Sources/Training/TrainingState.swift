import Foundation
import Optim
import TensorCore
import TrainingKit

/// Everything besides the tensors that a run needs to continue exactly: written into checkpoint headers.
public struct TrainingState: Codable, Equatable, Sendable {
    /// Optimizer steps taken.
    public var step = 0
    public var epoch = 0
    /// Global samples consumed (the data loader's position: epoch × samples per epoch + index in epoch).
    public var samplesSeen = 0
    public var stage = StageState(index: 0, startStep: 0, startSamples: 0)
    /// AdamW step count per parameter segment (bias correction).
    public var optimizerSteps: [Int] = []
    public var hyperparameters = AdamW.Hyperparameters()
    public var seed: UInt64 = 0
    /// World size when saved (resuming on another size keeps the global batch).
    public var worldSize = 1
    public var globalBatch = 0
    public var consecutiveNonFinite = 0
    /// The run's settings that differ from their defaults, as recipe text by name (for inspection, and for
    /// evaluating a checkpoint with the data it was trained on).
    public var settings: [String: String]?

    public init() {}
}
