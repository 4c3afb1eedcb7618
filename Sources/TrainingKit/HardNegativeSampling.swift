import DataPipeline
import TensorCore

/// Which of a sample's `--hard-negatives` texts fill its K slots each time the sample is seen.
public enum HardNegativeSampling: String, SettingEnumeration {
    /// The first K, always (the file's order is its preference).
    case first
    /// K drawn without replacement each epoch (NegCLIP draws a sample's negative anew each time), seeded by the run's seed,
    /// the epoch and the sample's key only, so a draw is the same on any world size and after a resume. The drawn texts
    /// keep the file's order; a sample with at most K texts uses them all.
    case random

    /// The texts of one sample for the batch of `epoch`.
    public func choose(from texts: [String], count: Int, seed: UInt64, epoch: Int, key: String) -> [String] {
        guard self == .random, texts.count > count else { return Array(texts.prefix(count)) }
        var random = SplitMix64(mixing: seed, UInt64(epoch), SplitMix64.stableHash(key))
        var order = Array(texts.indices)
        for slot in 0..<count { order.swapAt(slot, slot + random.below(texts.count - slot)) }
        return order[..<count].sorted().map { texts[$0] }
    }
}
