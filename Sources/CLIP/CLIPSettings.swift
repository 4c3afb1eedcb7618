import NN
import TrainingKit

/// Settings only CLIP training reads (OpenCLIP's flag names).
public struct CLIPSettings: SettingCatalog {
    public static let declared = CLIPSettings()
    public var families: [String]? { ["clip"] }

    public let lockText = Setting("lock-text", false, help: "Freeze the text tower.")
    public let siglip = Setting("siglip", false, help: "Use the SigLIP sigmoid loss (a learnable bias initialised to -10, temperature 10).")
    public let hnBeta = Setting("hn-beta", 0.0,
                                help: "HN-NCE (Radenovic et al. 2023): each negative in a row's softmax denominator weighted by exp(beta · logit), normalised to mean 1 over the row's negatives; 0 (with --hn-alpha 1) is CLIP's loss exactly.")
    public let hnAlpha = Setting("hn-alpha", 1.0, help: "HN-NCE: weight of the positive pair in its own softmax denominator.",
                                 check: SettingCheck.nonNegative)
    public let hnDebiasedTauPlus = Setting("hn-debiased-tau-plus", 0.0,
                                           help: "Debiased negatives (Robinson et al. 2021): the prior probability tau+ that a negative is a true positive, removed from the weighted negatives; 0: off.",
                                           check: { @Sendable value in value >= 0 && value < 1 ? nil : "must be at least 0 and below 1" })
    public let hardNegatives = Setting("hard-negatives", "",
                                       help: "Mined hard negatives (NegCLIP): a JSON Lines file of {\"key\": SAMPLE KEY, \"texts\": [CAPTION, ...]} (swiftclip hard-negatives writes one); each sample's negative captions are encoded by the text tower and added as image→text columns of every image of the global batch (negatives only).")
    public let hardNegativesPerSample = Setting("hard-negatives-per-sample", 1,
                                                help: "How many of each sample's --hard-negatives texts join the batch (which ones: --hard-negatives-sampling); a sample with fewer leaves its other slots empty.",
                                                check: SettingCheck.positive)
    public let hardNegativesSampling = Setting("hard-negatives-sampling", HardNegativeSampling.first,
                                               help: "Which of a sample's --hard-negatives texts fill its slots: first (the first K, always) or random (K drawn anew each epoch, as NegCLIP draws, seeded by --seed, the epoch and the sample's key: the same on any world size and after a resume).")
    public let distillTeacher = Setting("distill-teacher", "",
                                        help: "Distil from this teacher CLIP: a SwiftCLIP checkpoint (file or folder) or OpenCLIP safetensors (with --distill-teacher-model); it runs without a tape on each augmented batch. Needs the student's tokenizer, context length and image size.")
    public let distillTeacherModel = Setting("distill-teacher-model", "",
                                             help: "The model config of a --distill-teacher safetensors file (a checkpoint records its own).")
    public let distillEmbeddings = Setting("distill-embeddings", "",
                                           help: "Read the teacher's embeddings of each training sample from this `swiftclip embed` folder (matched by sample key) instead of running it; --distill-teacher then only gives the affinity loss its temperature.")
    public let distillLoss = Setting("distill-loss", DistillationKind.affinity,
                                     help: "affinity: TinyCLIP's cross-entropy between teacher and student image-text similarity distributions over the global batch, both directions; feature: CLIP-KD's MSE between (projected) student and teacher embeddings; both.")
    public let distillWeight = Setting("distill-weight", 1.0, help: "Weight of the affinity distillation loss, added to the contrastive loss.",
                                       check: SettingCheck.nonNegative)
    public let distillTeacherScale = Setting("distill-teacher-scale", 0.0,
                                             help: "Temperature exp(logit_scale) of the teacher's similarity distributions in the affinity loss; 0: the teacher's own (TinyCLIP). A teacher that fits its training data sharply gives near one-hot targets at its own scale; a lower one passes on which other captions and images it finds close.",
                                             check: SettingCheck.nonNegative)
    public let distillFeatureWeight = Setting("distill-feature-weight", 2000.0,
                                              help: "Weight of the feature distillation loss (a mean over embedding entries of unit vectors, hence CLIP-KD's large weight).",
                                              check: SettingCheck.nonNegative)
    public let localLoss = Setting("local-loss", true,
                                   help: "Accepted for OpenCLIP compatibility; the loss is always this rank's rows against every rank's columns.")
    public let gatherWithGrad = Setting("gather-with-grad", true,
                                        help: "Accepted for OpenCLIP compatibility; gradients always flow back to every rank's features.")
}

/// Which distillation losses `--distill-loss` adds.
public enum DistillationKind: String, SettingEnumeration {
    case affinity, feature, both
    public var affinity: Bool { self != .feature }
    public var feature: Bool { self != .affinity }
}

extension Settings {
    /// The contrastive loss's weighting of its denominators (`--hn-alpha`, `--hn-beta`, `--hn-debiased-tau-plus`).
    public var hardNegativeWeighting: HardNegativeWeighting {
        HardNegativeWeighting(alpha: self.hnAlpha, beta: self.hnBeta, debiasedTauPlus: self.hnDebiasedTauPlus)
    }

    public subscript<V>(dynamicMember path: KeyPath<CLIPSettings, Setting<V>>) -> V {
        get { self[CLIPSettings.declared[keyPath: path]] }
        set { self[CLIPSettings.declared[keyPath: path]] = newValue }
    }
}
