import NN

/// Hard negatives in the contrastive loss, for every family whose global loss is `GlobalLoss.clip` (CLIP's and CoCa's):
/// HN-NCE's weighting of the denominators and mined `--hard-negatives`.
public struct HardNegativeSettings: SettingCatalog {
    public static let declared = HardNegativeSettings()
    public var families: [String]? { ["clip", "coca"] }

    public let hnBeta = Setting("hn-beta", 0.0,
                                help: "HN-NCE (Radenovic et al. 2023): each negative in a row's softmax denominator weighted by exp(beta · logit), normalised to mean 1 over the row's negatives; 0 (with --hn-alpha 1) is CLIP's loss exactly.")
    public let hnAlpha = Setting("hn-alpha", 1.0, help: "HN-NCE: weight of the positive pair in its own softmax denominator.",
                                 check: SettingCheck.nonNegative)
    public let hnDebiasedTauPlus = Setting("hn-debiased-tau-plus", 0.0,
                                           help: "Debiased negatives (Robinson et al. 2021): the prior probability tau+ that a negative is a true positive, removed from the weighted negatives; 0: off.",
                                           check: { @Sendable value in value >= 0 && value < 1 ? nil : "must be at least 0 and below 1" })
    public let hardNegatives = Setting("hard-negatives", "",
                                       help: "Mined hard negatives (NegCLIP): a JSON Lines file of {\"key\": SAMPLE KEY, \"texts\": [CAPTION, ...], \"images\": [SAMPLE KEY, ...]} (swiftclip hard-negatives writes one); each sample's negative captions are encoded by the text tower as image→text columns of every image of the global batch, its negative images (other training samples', CLIP only) by the image tower as text→image columns of every caption (negatives only).")
    public let hardNegativesPerSample = Setting("hard-negatives-per-sample", 1,
                                                help: "How many of each sample's --hard-negatives texts, and of its images, join the batch (which ones: --hard-negatives-sampling); a sample with fewer leaves its other slots empty.",
                                                check: SettingCheck.positive)
    public let hardNegativesSampling = Setting("hard-negatives-sampling", HardNegativeSampling.first,
                                               help: "Which of a sample's --hard-negatives texts (and images) fill its slots: first (the first K, always) or random (K drawn anew each epoch, as NegCLIP draws, seeded by --seed, the epoch and the sample's key: the same on any world size and after a resume).")
}

extension Settings {
    /// The contrastive loss's weighting of its denominators (`--hn-alpha`, `--hn-beta`, `--hn-debiased-tau-plus`).
    public var hardNegativeWeighting: HardNegativeWeighting {
        HardNegativeWeighting(alpha: self.hnAlpha, beta: self.hnBeta, debiasedTauPlus: self.hnDebiasedTauPlus)
    }

    /// Whether the contrastive loss is anything but CLIP's plain one: HN-NCE weights or mined negatives.
    public var usesHardNegatives: Bool { !hardNegativeWeighting.isPlainInfoNCE || !self.hardNegatives.isEmpty }

    /// A one-line error for a hard-negative setting that would do nothing: any of them without a contrastive loss
    /// (`hasContrastiveLoss` false), or a choice among the file's entries without `--hard-negatives`.
    public func checkHardNegativeSettings(hasContrastiveLoss: Bool, lossName: String) throws {
        if !hasContrastiveLoss && usesHardNegatives {
            throw TrainingError("--hard-negatives and --hn-* shape the contrastive loss, which \(lossName) turns off")
        }
        let declared = HardNegativeSettings.declared
        if self.hardNegatives.isEmpty,
           let idle = [declared.hardNegativesPerSample.name, declared.hardNegativesSampling.name].first(where: { recorded[$0] != nil }) {
            throw TrainingError("--\(idle) chooses among a --hard-negatives file's entries; it does nothing without --hard-negatives FILE")
        }
    }

    public subscript<V>(dynamicMember path: KeyPath<HardNegativeSettings, Setting<V>>) -> V {
        get { self[HardNegativeSettings.declared[keyPath: path]] }
        set { self[HardNegativeSettings.declared[keyPath: path]] = newValue }
    }
}
