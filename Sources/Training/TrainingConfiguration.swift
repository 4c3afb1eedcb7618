import Foundation

/// Everything a training run is configured with; the CLI fills it from a YAML recipe and flags whose long
/// names follow OpenCLIP's (`--batch-size` is per rank, as in OpenCLIP).
public struct TrainingConfiguration: Codable, Equatable, Sendable {
    // Model and data.
    public var model = "clip-tiny"
    public var datasetType = "synthetic"
    public var trainData: String?
    public var valData: String?
    public var trainNumSamples: Int?
    public var valNumSamples: Int?
    public var csvImgKey = "filepath"
    public var csvCaptionKey = "title"
    public var csvSeparator = "\t"
    public var tokenizer = "auto"
    public var merges: String?
    public var workers = 1
    public var zeroshotData: String?

    // Optimisation.
    public var batchSize = 64
    public var epochs = 1
    public var maxSteps: Int?
    public var lr = 5e-4
    public var wd = 0.2
    public var beta1 = 0.9
    public var beta2 = 0.98
    public var eps = 1e-6
    public var warmup = 10_000
    public var lrScheduler = "cosine"
    public var accumFreq = 1
    public var gradCheckpointing = false
    /// Recompute only this many blocks per tower (memory between none and --grad-checkpointing, at part of its cost).
    public var gradCheckpointingBlocks: Int?
    /// Recompute the MLP hidden layer of this many blocks per tower in backward instead of keeping it (nil: none).
    public var recomputeMLPBlocks: Int?
    public var gradClipNorm: Double?
    public var lockImage = false
    public var lockText = false
    public var siglip = false
    public var stages: [Stage] = []
    public var seed: UInt64 = 0
    public var deterministic = false
    /// Consecutive non-finite steps tolerated (skipped) before the run stops.
    public var maxNonFiniteSteps = 5

    // Distribution.
    public var localLoss = true
    public var gatherWithGrad = true
    /// Gradient all-reduce bucket size: 8 MB left 0.2-0.6 % of a clip-bench step exposed at 2 ranks, 25 MB 1.2-5.3 %.
    public var bucketMB = 8.0
    public var replicaCheckEvery = 100

    // Checkpoints, evaluation, logging.
    public var resume: String?
    public var saveFrequency = 1
    public var saveEverySteps: Int?
    public var keep: Int?
    /// zstd level of checkpoint payloads (1-19; 3 is fast and already gains from the byte shuffle).
    public var checkpointCompressionLevel = 3
    public var valFrequency = 1
    public var zeroshotFrequency = 1
    public var evalEverySteps: Int?
    public var logs = "./logs"
    public var name: String?
    public var reportTo: [String] = []
    public var logEveryNSteps = 10

    public init() {}

    /// The run's name: `--name`, or one derived from the model and a timestamp.
    public var runName: String {
        if let name { return name }
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy_MM_dd-HH_mm_ss"
        return "\(formatter.string(from: Date()))-model_\(model)-b_\(batchSize)"
    }

    /// Blocks per tower recomputed in backward: --grad-checkpointing-blocks, else all or none by --grad-checkpointing.
    public var checkpointedBlocksPerTower: Int { gradCheckpointingBlocks ?? (gradCheckpointing ? Int.max : 0) }

    /// Checks values that no type can express; the error names the flag.
    public func validate() throws {
        func require(_ ok: Bool, _ message: String) throws { if !ok { throw TrainingError(message) } }
        try require(batchSize > 0, "--batch-size must be positive, got \(batchSize)")
        try require(epochs > 0, "--epochs must be positive, got \(epochs)")
        try require(lr >= 0 && lr.isFinite, "--lr must be a non-negative number, got \(lr)")
        try require(accumFreq > 0 && batchSize % accumFreq == 0,
                    "--accum-freq \(accumFreq) must divide --batch-size \(batchSize) (micro-batches of equal size)")
        try require(["cosine", "const", "const-cooldown"].contains(lrScheduler),
                    "--lr-scheduler must be cosine, const or const-cooldown, got \(lrScheduler)")
        try require(["synthetic", "webdataset", "csv", "auto", "random"].contains(datasetType),
                    "--dataset-type must be synthetic, webdataset, csv, auto or random, got \(datasetType)")
        try require(["synthetic", "random"].contains(datasetType) || trainData != nil, "--train-data is required for --dataset-type \(datasetType)")
        try require(reportTo.allSatisfy { ["tensorboard", "jsonl", "none"].contains($0) },
                    "--report-to takes tensorboard (results.jsonl is always written), got \(reportTo.joined(separator: ","))")
        try require(gradClipNorm.map { $0 > 0 } ?? true, "--grad-clip-norm must be positive")
        try require(gradCheckpointingBlocks.map { $0 >= 0 } ?? true, "--grad-checkpointing-blocks must not be negative")
        try require(recomputeMLPBlocks.map { $0 >= 0 } ?? true, "--recompute-mlp-blocks must not be negative")
        try require(maxSteps.map { $0 > 0 } ?? true, "--max-steps must be positive")
        try require((1...19).contains(checkpointCompressionLevel), "--checkpoint-compression-level must be 1-19, got \(checkpointCompressionLevel)")
        try require(keep.map { $0 > 0 } ?? true, "--keep must be positive")
        for stage in stages {
            if let s = stage.schedule {
                try require(["cosine", "const", "const-cooldown"].contains(s), "stage \(stage.name): schedule must be cosine, const or const-cooldown, got \(s)")
            }
        }
    }
}

/// A training failure for the user: one line.
public struct TrainingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
