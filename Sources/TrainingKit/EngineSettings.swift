import DataPipeline
import Distributed
import Foundation
import Optim
import TensorCore

/// Where training samples come from (`--dataset-type`).
public enum DatasetType: String, SettingEnumeration {
    /// The built-in rendered shapes: no files needed.
    case synthetic
    case webdataset, csv
    /// From `--train-data`: `.csv`/`.tsv` → csv, otherwise webdataset; no data → synthetic.
    case auto
    /// Random inputs with nothing to learn, for throughput measurements.
    case random
}

/// Which tokenizer turns captions into ids (`--tokenizer`).
public enum TokenizerChoice: String, SettingEnumeration {
    /// OpenCLIP's CLIP BPE for models with 49,408 ids, otherwise `builtin`.
    case auto
    case clipBPE = "clip-bpe"
    /// A BPE vocabulary trained on the run's captions (saved as the run's tokenizer.json).
    case builtin
}

/// Where metrics go besides results.jsonl, which is always written (`--report-to`).
public enum ReportTarget: String, SettingEnumeration {
    case tensorboard, none
}

extension LearningRateSchedule.Kind: SettingEnumeration {}
extension WirePrecision: SettingEnumeration {}
extension ActivationPrecision: SettingEnumeration {}

/// The engine's settings, read by every family. Long names follow OpenCLIP's flags (`--batch-size` is per rank).
public struct EngineSettings: SettingCatalog {
    public static let declared = EngineSettings()

    // Model and data.
    public let task = Setting("task", "clip", help: "Model family to train: one of the registered families (Training/Families.swift).")
    public let model = Setting("model", "clip-tiny", help: "Model name (cluster-configs/models/NAME.json) or config JSON path.")
    public let datasetType = Setting("dataset-type", DatasetType.synthetic,
                                     help: "synthetic (built-in, no files), webdataset, csv, auto or random (throughput only).")
    public let trainData = Setting("train-data", String?.none,
                                   help: "Training data: tar shards with brace expansion, sources joined by '::', or a CSV file.")
    public let valData = Setting("val-data", String?.none, help: "Validation data for retrieval metrics and validation loss.")
    public let trainNumSamples = Setting("train-num-samples", Int?.none, help: "Samples per epoch (required for webdataset).",
                                         check: SettingCheck.positiveIfSet)
    public let valNumSamples = Setting("val-num-samples", Int?.none, help: "Validation samples to use.", check: SettingCheck.positiveIfSet)
    public let csvImgKey = Setting("csv-img-key", "filepath", help: "CSV column of image paths.")
    public let csvCaptionKey = Setting("csv-caption-key", "title", help: "CSV column of captions.")
    public let csvSeparator = Setting("csv-separator", "\t", help: "CSV separator (default tab; write \\t for tab).")
    public let tokenizer = Setting("tokenizer", TokenizerChoice.auto, help: "auto, clip-bpe (needs --merges) or builtin (trained on the captions).")
    public let merges = Setting("merges", String?.none, help: "CLIP BPE merges file (bpe_simple_vocab_16e6.txt.gz).")
    public let workers = Setting("workers", 1, help: "Background decoding threads per rank.", check: SettingCheck.nonNegative)
    public let csvLabelKey = Setting("csv-label-key", "label", help: "CSV column of class indices (families that read a label).")
    public let csvLabelsKey = Setting("csv-labels-key", "labels", help: "CSV column of multi-label class lists (\"3,17\").")
    public let csvAudioKey = Setting("csv-audio-key", "audio", help: "CSV column of audio file paths.")
    public let audioSampleRate = Setting("audio-sample-rate", 16000, help: "Rate recordings are resampled to before the log-mel filter bank (Hz).",
                                         check: SettingCheck.within(1000...192_000))
    public let audioMean = Setting("audio-mean", -4.268, help: "Dataset mean of the log-mel filter bank, subtracted before the audio encoder (ImageBind's AudioSet value).")
    public let audioStd = Setting("audio-std", 9.138, help: "Dataset std of the log-mel filter bank, divided out before the audio encoder.",
                                  check: SettingCheck.positive)
    public let audioAugment = Setting("audio-augment", AudioAugmentSetting(),
                                      help: "Training audio augmentation: gain_db=D (uniform ±D dB) shift_s=S (±S s) noise=A (Gaussian, std up to A) time_mask=T time_masks=N freq_mask=F freq_masks=N (SpecAugment), or none.")
    public let augCfg = Setting("aug-cfg", AugmentationSetting(),
                                help: "Image augmentation, OpenCLIP's keys: scale=(0.9,1.0) ratio=(0.75,1.333) color_jitter=(b,c,s,h) color_jitter_prob=p gray_scale_prob=p, or none (evaluation preprocessing).")
    public let zeroshotData = Setting("zeroshot-data", String?.none,
                                      help: "Zero-shot image folder: one subfolder per class, optional classnames.txt and templates.txt.")

    // Optimisation.
    public let batchSize = Setting("batch-size", 64, help: "Batch size per rank (the global batch is this × ranks).", check: SettingCheck.positive)
    public let epochs = Setting("epochs", 1, help: "Epochs to train.", check: SettingCheck.positive)
    public let maxSteps = Setting("max-steps", Int?.none, help: "Stop after this many optimizer steps.", check: SettingCheck.positiveIfSet)
    public let lr = Setting("lr", 5e-4, help: "Peak learning rate.", check: SettingCheck.nonNegative)
    public let wd = Setting("wd", 0.2, help: "AdamW weight decay (not applied to gains, biases, logit_scale).", check: SettingCheck.nonNegative)
    public let beta1 = Setting("beta1", 0.9, help: "AdamW beta1.", check: SettingCheck.within(0.0...1.0))
    public let beta2 = Setting("beta2", 0.98, help: "AdamW beta2.", check: SettingCheck.within(0.0...1.0))
    public let eps = Setting("eps", 1e-6, help: "AdamW epsilon.", check: SettingCheck.positive)
    public let warmup = Setting("warmup", 10_000, help: "Linear warmup steps.", check: SettingCheck.nonNegative)
    public let lrScheduler = Setting("lr-scheduler", LearningRateSchedule.Kind.cosine, help: "cosine, const or const-cooldown.")
    public let accumFreq = Setting("accum-freq", 1, help: "Micro-batches per step (GradCache: exact gradients, memory of one micro-batch).",
                                   check: SettingCheck.positive)
    public let gradClipNorm = Setting("grad-clip-norm", Double?.none, help: "Clip gradients to this global norm.", check: SettingCheck.positiveIfSet)
    public let gradCheckpointing = Setting("grad-checkpointing", false,
                                           help: "Recompute transformer blocks in backward instead of keeping activations.")
    public let gradCheckpointingBlocks = Setting("grad-checkpointing-blocks", Int?.none,
                                                 help: "Recompute only the first N blocks of each tower (memory and cost between none and all).",
                                                 check: SettingCheck.nonNegativeIfSet)
    public let recomputeMlpBlocks = Setting("recompute-mlp-blocks", Int?.none,
                                            help: "Recompute the MLP hidden layer of the first N blocks of each tower in backward (4 of a block's 9 kept tensors, for one more product).",
                                            check: SettingCheck.nonNegativeIfSet)
    public let stages = Setting("stages", StageList(), help: "Staged schedule: a list of stages (name, train, freeze, lr, warmup, schedule, steps, samples, plateau); JSON or YAML.")
    public let seed = Setting("seed", UInt64(0), help: "Random seed.")
    public let deterministic = Setting("deterministic", false, help: "Fixed reduction order so results do not depend on timing.")
    public let maxNonFiniteSteps = Setting("max-non-finite-steps", 5, help: "Consecutive non-finite steps skipped before the run stops.",
                                           check: SettingCheck.positive)

    // Distribution.
    public let bucketMb = Setting("bucket-mb", 8.0, help: "Gradient all-reduce bucket size in MB.", check: SettingCheck.positive)
    public let zero = Setting("zero", 0, help: "ZeRO stage: 1 shards AdamW's moments over the ranks (gradients reduce-scattered, parameters all-gathered); 0: every rank holds them all.",
                              check: SettingCheck.within(0...1))
    public let gradCommDtype = Setting("grad-comm-dtype", WirePrecision.fp32,
                                       help: "Element type of gradient communication: fp32, or bf16 (each rank's share rounded to bfloat16, summed in float32: half the bytes).")
    public let overlapComm = Setting("overlap-comm", true,
                                     help: "All-reduce gradient buckets while backward still runs (false: all of them after backward, which exposes the whole communication; for measuring what overlap hides).")
    public let activationDtype = Setting("activation-dtype", ActivationPrecision.fp32,
                                         help: "Element type of the activations kept for backward (inputs of the fused linear layers, MLPs and attention): fp32, or bf16 (computed in float32, stored as bfloat16: about half their memory).")
    public let replicaCheckEvery = Setting("replica-check-every", 100, help: "Verify replicas agree every N steps (0: only at start and at saves).",
                                           check: SettingCheck.nonNegative)

    // Checkpoints, evaluation and logging.
    public let resume = Setting("resume", String?.none, help: "latest, a checkpoint file, a checkpoints folder, or its `latest` pointer file.")
    public let saveFrequency = Setting("save-frequency", 1, help: "Save a checkpoint every N epochs (0: only at the end).", check: SettingCheck.nonNegative)
    public let saveEverySteps = Setting("save-every-steps", Int?.none, help: "Save a checkpoint every N steps.", check: SettingCheck.positiveIfSet)
    public let keep = Setting("keep", Int?.none, help: "Keep the newest N checkpoints (those marked with `swiftclip checkpoint keep` are never deleted).",
                              check: SettingCheck.positiveIfSet)
    public let checkpointCompressionLevel = Setting("checkpoint-compression-level", 3, help: "zstd level of checkpoints (1-19).",
                                                    check: SettingCheck.within(1...19))
    public let valFrequency = Setting("val-frequency", 1, help: "Validate every N epochs.", check: SettingCheck.positive)
    public let zeroshotFrequency = Setting("zeroshot-frequency", 1, help: "Zero-shot evaluation every N epochs.", check: SettingCheck.positive)
    public let evalEverySteps = Setting("eval-every-steps", Int?.none, help: "Also evaluate every N steps.", check: SettingCheck.positiveIfSet)
    public let logs = Setting("logs", "./logs", help: "Folder for run outputs.")
    public let name = Setting("name", String?.none, help: "Run name (folder under --logs).")
    public let reportTo = Setting("report-to", [ReportTarget](), help: "tensorboard (results.jsonl is always written).")
    public let logEveryNSteps = Setting("log-every-n-steps", 10, help: "Log every N steps.", check: SettingCheck.positive)
}

extension Settings {
    /// The run's name: `--name`, or one derived from the model and a timestamp.
    public var runName: String {
        if let name = self.name { return name }
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy_MM_dd-HH_mm_ss"
        return "\(formatter.string(from: Date()))-model_\(self.model)-b_\(self.batchSize)"
    }

    /// Blocks per tower recomputed in backward: --grad-checkpointing-blocks, else all or none by --grad-checkpointing.
    public var checkpointedBlocksPerTower: Int { self.gradCheckpointingBlocks ?? (self.gradCheckpointing ? Int.max : 0) }
}
