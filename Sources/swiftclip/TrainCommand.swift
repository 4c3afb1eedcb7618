import ArgumentParser
import Foundation
import Training

/// `swiftclip train`: data-parallel CLIP training; run it under `mpirun` for several ranks.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a CLIP model (alone, or one rank per process under mpirun).",
        discussion: """
        Settings come from a YAML recipe (--config) whose keys are the long flag names below, overridden by \
        flags on the command line. Outputs go to LOGS/NAME/: results.jsonl, checkpoints/ (with a `latest` \
        pointer), tensorboard/ and recipe.yaml (the resolved settings).
        """)

    @Option(name: .long, help: "YAML recipe whose keys are the long flag names of this command.")
    var config: String?

    // Model and data.
    @Option(name: .long, help: "Model name (cluster-configs/models/NAME.json) or config JSON path.") var model: String?
    @Option(name: .long, help: "synthetic (built-in, no files), webdataset, csv or auto.") var datasetType: String?
    @Option(name: .long, help: "Training data: tar shards with brace expansion, sources joined by '::', or a CSV file.") var trainData: String?
    @Option(name: .long, help: "Validation data for retrieval metrics and validation loss.") var valData: String?
    @Option(name: .long, help: "Samples per epoch (required for webdataset).") var trainNumSamples: Int?
    @Option(name: .long, help: "Validation samples to use.") var valNumSamples: Int?
    @Option(name: .long, help: "CSV column of image paths (default filepath).") var csvImgKey: String?
    @Option(name: .long, help: "CSV column of captions (default title).") var csvCaptionKey: String?
    @Option(name: .long, help: "CSV separator (default tab; write \\t for tab).") var csvSeparator: String?
    @Option(name: .long, help: "auto, clip-bpe (needs --merges) or builtin (trained on the captions).") var tokenizer: String?
    @Option(name: .long, help: "CLIP BPE merges file (bpe_simple_vocab_16e6.txt.gz).") var merges: String?
    @Option(name: .long, help: "Background decoding threads per rank.") var workers: Int?
    @Option(name: .long, help: "Zero-shot image folder: one subfolder per class, optional classnames.txt and templates.txt.") var zeroshotData: String?

    // Optimisation.
    @Option(name: .long, help: "Batch size per rank (the global batch is this × ranks).") var batchSize: Int?
    @Option(name: .long, help: "Epochs to train.") var epochs: Int?
    @Option(name: .long, help: "Stop after this many optimizer steps.") var maxSteps: Int?
    @Option(name: .long, help: "Peak learning rate.") var lr: Double?
    @Option(name: .long, help: "AdamW weight decay (not applied to gains, biases, logit_scale).") var wd: Double?
    @Option(name: .long, help: "AdamW beta1.") var beta1: Double?
    @Option(name: .long, help: "AdamW beta2.") var beta2: Double?
    @Option(name: .long, help: "AdamW epsilon.") var eps: Double?
    @Option(name: .long, help: "Linear warmup steps.") var warmup: Int?
    @Option(name: .long, help: "cosine, const or const-cooldown.") var lrScheduler: String?
    @Option(name: .long, help: "Micro-batches per step (GradCache: exact gradients, memory of one micro-batch).") var accumFreq: Int?
    @Option(name: .long, help: "Clip gradients to this global norm.") var gradClipNorm: Double?
    @Option(name: .long, help: "Recompute transformer blocks in backward instead of keeping activations (true/false).") var gradCheckpointing: String?
    @Option(name: .long, help: "Recompute only the first N blocks of each tower (memory and cost between none and all).") var gradCheckpointingBlocks: Int?
    @Option(name: .long, help: "Recompute the MLP hidden layer of the first N blocks of each tower in backward (4 of a block's 9 kept tensors, for one more product).") var recomputeMLPBlocks: Int?
    @Option(name: .long, help: "Freeze the image tower (true/false).") var lockImage: String?
    @Option(name: .long, help: "Freeze the text tower (true/false).") var lockText: String?
    @Option(name: .long, help: "Use the SigLIP sigmoid loss (true/false).") var siglip: String?
    @Option(name: .long, help: "Random seed.") var seed: Int?
    @Option(name: .long, help: "Fixed reduction order so results do not depend on timing (true/false).") var deterministic: String?
    @Option(name: .long, help: "Consecutive non-finite steps skipped before the run stops.") var maxNonFiniteSteps: Int?

    // Distribution.
    @Option(name: .long, help: "Accepted for OpenCLIP compatibility; the loss is always local rows × gathered columns.") var localLoss: String?
    @Option(name: .long, help: "Accepted for OpenCLIP compatibility; gradients always flow to every rank's features.") var gatherWithGrad: String?
    @Option(name: .long, help: "Gradient all-reduce bucket size in MB.") var bucketMb: Double?
    @Option(name: .long, help: "Verify replicas agree every N steps (0: only at start).") var replicaCheckEvery: Int?

    // Checkpoints, evaluation and logging.
    @Option(name: .long, help: "latest or a checkpoint path.") var resume: String?
    @Option(name: .long, help: "Save a checkpoint every N epochs.") var saveFrequency: Int?
    @Option(name: .long, help: "Save a checkpoint every N steps.") var saveEverySteps: Int?
    @Option(name: .long, help: "Keep the newest N checkpoints (those marked with `swiftclip checkpoint keep` are never deleted).") var keep: Int?
    @Option(name: .long, help: "zstd level of checkpoints (1-19, default 3).") var checkpointCompressionLevel: Int?
    @Option(name: .long, help: "Validate every N epochs.") var valFrequency: Int?
    @Option(name: .long, help: "Zero-shot evaluation every N epochs.") var zeroshotFrequency: Int?
    @Option(name: .long, help: "Also evaluate every N steps.") var evalEverySteps: Int?
    @Option(name: .long, help: "Folder for run outputs.") var logs: String?
    @Option(name: .long, help: "Run name (folder under --logs).") var name: String?
    @Option(name: .long, help: "tensorboard (results.jsonl is always written).") var reportTo: String?
    @Option(name: .long, help: "Log every N steps.") var logEveryNSteps: Int?

    /// Flags given on the command line, by recipe key.
    var givenSettings: [(String, String?)] {
        [("model", model), ("dataset-type", datasetType), ("train-data", trainData), ("val-data", valData),
         ("train-num-samples", trainNumSamples.map(String.init)), ("val-num-samples", valNumSamples.map(String.init)),
         ("csv-img-key", csvImgKey), ("csv-caption-key", csvCaptionKey), ("csv-separator", csvSeparator),
         ("tokenizer", tokenizer), ("merges", merges), ("workers", workers.map(String.init)), ("zeroshot-data", zeroshotData),
         ("batch-size", batchSize.map(String.init)), ("epochs", epochs.map(String.init)), ("max-steps", maxSteps.map(String.init)),
         ("lr", lr.map { "\($0)" }), ("wd", wd.map { "\($0)" }), ("beta1", beta1.map { "\($0)" }), ("beta2", beta2.map { "\($0)" }),
         ("eps", eps.map { "\($0)" }), ("warmup", warmup.map(String.init)), ("lr-scheduler", lrScheduler),
         ("accum-freq", accumFreq.map(String.init)), ("grad-checkpointing", gradCheckpointing),
         ("grad-checkpointing-blocks", gradCheckpointingBlocks.map(String.init)),
         ("recompute-mlp-blocks", recomputeMLPBlocks.map(String.init)), ("grad-clip-norm", gradClipNorm.map { "\($0)" }),
         ("lock-image", lockImage), ("lock-text", lockText), ("siglip", siglip), ("seed", seed.map(String.init)),
         ("deterministic", deterministic), ("max-non-finite-steps", maxNonFiniteSteps.map(String.init)),
         ("local-loss", localLoss), ("gather-with-grad", gatherWithGrad), ("bucket-mb", bucketMb.map { "\($0)" }),
         ("replica-check-every", replicaCheckEvery.map(String.init)), ("resume", resume),
         ("save-frequency", saveFrequency.map(String.init)), ("save-every-steps", saveEverySteps.map(String.init)),
         ("keep", keep.map(String.init)), ("checkpoint-compression-level", checkpointCompressionLevel.map(String.init)), ("val-frequency", valFrequency.map(String.init)),
         ("zeroshot-frequency", zeroshotFrequency.map(String.init)), ("eval-every-steps", evalEverySteps.map(String.init)),
         ("logs", logs), ("name", name), ("report-to", reportTo), ("log-every-n-steps", logEveryNSteps.map(String.init))]
    }

    /// The recipe, then the command-line flags, applied in that order.
    func resolvedConfiguration() throws -> TrainingConfiguration {
        var configuration = TrainingConfiguration()
        if let config { try Recipe.apply(file: config, to: &configuration) }
        for case let (key, value?) in givenSettings { try Recipe.apply(key, value, to: &configuration) }
        try configuration.validate()
        return configuration
    }

    func run() throws {
        try reportingErrors("train") {
            try TrainingRun(configuration: try resolvedConfiguration()).run()
        }
    }
}
