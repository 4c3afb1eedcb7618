import TrainingKit

/// Settings only CLIP training reads (OpenCLIP's flag names); the hard-negative ones are `HardNegativeSettings`'.
public struct CLIPSettings: SettingCatalog {
    public static let declared = CLIPSettings()
    public var families: [String]? { ["clip"] }

    public let lockText = Setting("lock-text", false, help: "Freeze the text tower.")
    public let siglip = Setting("siglip", false, help: "Use the SigLIP sigmoid loss (a learnable bias initialised to -10, temperature 10).")
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
    public subscript<V>(dynamicMember path: KeyPath<CLIPSettings, Setting<V>>) -> V {
        get { self[CLIPSettings.declared[keyPath: path]] }
        set { self[CLIPSettings.declared[keyPath: path]] = newValue }
    }
}
