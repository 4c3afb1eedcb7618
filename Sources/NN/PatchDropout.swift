import TensorCore

/// FLIP's patch dropout (Li et al. 2023; OpenCLIP's `--force-patch-dropout`): in training an image keeps only a random
/// subset of its patch tokens, with their positional embeddings, so every layer costs roughly 1 − p (the patch
/// embedding too: `PatchTokenEmbedding` embeds the kept patches only).
/// The class token (row 0) is always kept; kept patches stay in their original order.
///
/// Which patches an image keeps depends only on `seed` and the image's pixels, never on its position in a batch: the
/// same global batch drops the same patches whatever the world size or micro-batching, and GradCache's second forward
/// of a micro-batch reproduces its first. A random crop changes the pixels, so the mask changes from epoch to epoch;
/// an image seen twice without augmentation keeps the same patches.
public struct PatchDropout: Sendable, Equatable {
    /// The share of patch tokens dropped, in [0, 1).
    public var probability: Double
    public var seed: UInt64

    public init(probability: Double = 0, seed: UInt64 = 0) {
        precondition(probability >= 0 && probability < 1, "patch dropout: probability \(probability) is not in [0, 1)")
        self.probability = probability
        self.seed = seed
    }

    /// Whether it drops anything (p = 0 leaves the tokens untouched).
    public var isActive: Bool { probability > 0 }

    /// Patches kept of `patches`: round((1 − p) · patches), at least one.
    public func keptPatchCount(patches: Int) -> Int {
        max(1, Int(((1 - probability) * Double(patches)).rounded()))
    }

    /// Token rows each image keeps of `tokens` (class token first): row 0, then the kept patches in ascending order.
    public func keptTokens(images: Tensor, tokens: Int) -> [[Int]] {
        let batch = images.shape[0], pixels = images.count / max(batch, 1)
        let patches = tokens - 1, kept = keptPatchCount(patches: patches)
        return (0..<batch).map { b in
            var generator = SplitMix64(seed: seed, stream: Self.fingerprint(images.pointer + b * pixels, count: pixels))
            var order = Array(1...patches)
            generator.shuffleFirst(kept, of: &order)
            return [0] + order[..<kept].sorted()
        }
    }

    /// A 64-bit digest of an image's pixels (their bit patterns, mixed in order).
    static func fingerprint(_ pixels: UnsafePointer<Float>, count: Int) -> UInt64 {
        var hash: UInt64 = 0x6A09_E667_F3BC_C908
        for i in 0..<count { hash = SplitMix64.mix(hash ^ UInt64(pixels[i].bitPattern)) }
        return hash
    }
}
