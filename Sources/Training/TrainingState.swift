import Foundation
import Optim
import TensorCore

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
    /// The resolved configuration and model of the run (for inspection and for resuming without flags).
    public var configuration: TrainingConfiguration?
    public var modelConfig: String?

    public init() {}
}

/// A fast 64-bit checksum of float buffers (FNV-1a over 64-bit words), used to verify that replicas agree.
public enum ReplicaChecksum {
    public static func of(_ buffer: UnsafeBufferPointer<Float>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        let raw = UnsafeRawBufferPointer(buffer)
        let words = raw.count / 8
        for i in 0..<words {
            hash = (hash ^ raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) &* 0x0000_0100_0000_01B3
        }
        for i in (words * 8)..<raw.count { hash = (hash ^ UInt64(raw[i])) &* 0x0000_0100_0000_01B3 }
        return hash
    }
}
