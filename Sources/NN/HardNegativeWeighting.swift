/// How the contrastive loss weighs the terms of each row's softmax denominator: HN-NCE (Radenovic et al. 2023,
/// "Filtering, Distillation, and Hard Negatives for Vision-Language Pre-Training"), optionally with the debiased
/// negatives of Robinson et al. 2021 ("Contrastive Learning with Hard Negative Samples").
///
/// For a row with logits z (z_p the positive pair's) over N columns, the loss is log D − z_p with
/// D = α·e^{z_p} + Neg and Neg = Σ_{j≠p} w_j e^{z_j}, w_j = (N−1)·e^{β z_j} / Σ_{k≠p} e^{β z_k}: the weights have mean 1
/// over the row's negatives, so β > 0 leans on the negatives the model already finds similar. The weights are part of
/// the function, not constants: gradients flow through them as well.
///
/// With τ⁺ > 0 the negative mass is Robinson's estimate with positives removed from the negatives' distribution,
/// Neg = max((Σ_{j≠p} w_j e^{z_j} − τ⁺(N−1)e^{z_p}) / (1 − τ⁺), (N−1)·e^{−s}), where s = exp(logit_scale) is the smallest
/// logit of L2-normalised features (the floor keeps the estimate positive).
public struct HardNegativeWeighting: Sendable, Equatable {
    /// α: the positive pair's weight in its own denominator.
    public var alpha: Double
    /// β: how strongly negatives with larger logits are weighted.
    public var beta: Double
    /// τ⁺: the prior probability that a negative is in truth a positive; 0 leaves the negatives as they are.
    public var debiasedTauPlus: Double

    public init(alpha: Double = 1, beta: Double = 0, debiasedTauPlus: Double = 0) {
        precondition(alpha >= 0 && debiasedTauPlus >= 0 && debiasedTauPlus < 1,
                     "hard negatives: α = \(alpha) must not be negative and τ⁺ = \(debiasedTauPlus) must be in 0..<1")
        self.alpha = alpha
        self.beta = beta
        self.debiasedTauPlus = debiasedTauPlus
    }

    /// α = 1, β = 0, no debiasing: CLIP's InfoNCE, which then runs through its own code path and keeps its bits.
    public var isPlainInfoNCE: Bool { alpha == 1 && beta == 0 && debiasedTauPlus == 0 }
}
