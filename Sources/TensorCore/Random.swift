import Foundation

/// SplitMix64 (Steele, Lea & Flood 2014): the project's one seeded random generator, so runs are reproducible on any
/// machine. Model initialisation, random data, shuffling and augmentation all derive from it, so they are
/// bit-identical across runs, platforms, resumes and world sizes.
///
/// The state advances by `0x9E3779B97F4A7C15` and the output is mixed with two xor-shift-multiply rounds. It passes
/// BigCrush and needs 8 bytes of state (easy to checkpoint). Floats use the top 24 bits; normals use Box-Muller on two
/// uniforms.
public struct SplitMix64: RandomNumberGenerator, Codable, Sendable, Equatable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator for stream `stream` of `seed`, independent of other streams (e.g. per rank or per sample).
    public init(seed: UInt64, stream: UInt64) {
        var mixer = SplitMix64(seed: seed ^ (stream &* 0xD1B54A32D192ED03))
        state = mixer.next()
    }

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

    /// Uniform in [0, 1) as a Float, from the top 24 bits.
    public mutating func nextUniform() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Uniform double in [0, 1) from the top 53 bits.
    public mutating func nextUnit() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }

    /// Uniform double in [lower, upper).
    public mutating func uniform(_ lower: Double, _ upper: Double) -> Double { lower + (upper - lower) * nextUnit() }

    /// Shuffles the first `count` places of `array` by a partial Fisher-Yates shuffle (place i takes a uniform pick of
    /// places i..<end, by `next() % remaining`), so `array[..<count]` is a uniform random subset of its elements.
    public mutating func shuffleFirst<T>(_ count: Int, of array: inout [T]) {
        for i in 0..<count { array.swapAt(i, i + Int(next() % UInt64(array.count - i))) }
    }

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

    /// Standard normal (Box-Muller; one of the pair is used so the sequence has no hidden state).
    public mutating func nextNormal() -> Float {
        let u1 = nextUnit(), u2 = nextUnit()
        return Float((-2.0 * Foundation.log(max(u1, 1e-300))).squareRoot() * Foundation.cos(2.0 * Double.pi * u2))
    }
}

extension Tensor {
    /// Normal values with the given mean and standard deviation, drawn from `generator`.
    public static func randomNormal(_ shape: [Int], mean: Float = 0, std: Float = 1,
                                    using generator: inout SplitMix64) -> Tensor {
        var t = Tensor(uninitializedShape: shape)
        let p = t.storage.pointer
        for i in 0..<t.count { p[i] = mean + std * generator.nextNormal() }
        t.variable = -1
        return t
    }

    /// Uniform values in [low, high), drawn from `generator`.
    public static func randomUniform(_ shape: [Int], low: Float = 0, high: Float = 1,
                                     using generator: inout SplitMix64) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        let p = t.storage.pointer
        for i in 0..<t.count { p[i] = low + (high - low) * generator.nextUniform() }
        return t
    }
}
