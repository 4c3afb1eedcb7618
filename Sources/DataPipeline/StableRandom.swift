/// SplitMix64 (Steele, Lea & Flood 2014): a tiny, well-mixed, stable PRNG. All data-pipeline randomness derives from it,
/// so augmentation and shuffling are bit-identical across runs, platforms, resumes and world sizes.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// Seeds a generator from several integers (e.g. seed, epoch, sample index, stream tag) by chaining the mixer,
    /// so neighbouring inputs give unrelated streams.
    public init(mixing parts: UInt64...) {
        var h: UInt64 = 0x243F_6A88_85A3_08D3
        for part in parts { h = SplitMix64.mix(h ^ part &+ 0x9E37_79B9_7F4A_7C15) }
        state = h
    }

    /// The SplitMix64 finaliser: a bijective avalanche of 64 bits.
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// Uniform double in [0, 1) from the top 53 bits.
    public mutating func nextUnit() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }

    /// Uniform double in [lower, upper).
    public mutating func uniform(_ lower: Double, _ upper: Double) -> Double { lower + (upper - lower) * nextUnit() }

    /// Uniform integer in 0..<bound (bound > 0), by Lemire's multiply-shift with rejection, so it is exactly uniform.
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0)
        let b = UInt64(bound)
        var product = next().multipliedFullWidth(by: b)
        if product.low < b {
            let threshold = (0 &- b) % b
            while product.low < threshold { product = next().multipliedFullWidth(by: b) }
        }
        return Int(product.high)
    }
}

/// Stream tags keep the different uses of (seed, epoch, index) independent of each other.
enum RandomStream: UInt64 {
    case augmentation = 1, permutation = 2, substitute = 3, shardOrder = 4, shuffleBuffer = 5, synthetic = 6
}
