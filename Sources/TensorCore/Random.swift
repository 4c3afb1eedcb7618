import Foundation

/// A small, documented, stable pseudo-random generator so that runs are reproducible on any machine.
///
/// The state is advanced with SplitMix64 (Steele, Lea & Flood 2014): `state += 0x9E3779B97F4A7C15`,
/// then the output is mixed with two xor-shift-multiply rounds. It passes BigCrush, needs 8 bytes of
/// state (easy to checkpoint) and gives the same sequence everywhere. Floats use the top 24 bits;
/// normals use Box-Muller on two uniforms.
public struct SeededGenerator: RandomNumberGenerator, Codable, Sendable, Equatable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator for stream `stream` of `seed`, independent of other streams (e.g. per rank or per sample).
    public init(seed: UInt64, stream: UInt64) {
        var mixer = SeededGenerator(seed: seed ^ (stream &* 0xD1B54A32D192ED03))
        state = mixer.next()
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func nextUniform() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Standard normal (Box-Muller; one of the pair is used so the sequence has no hidden state).
    public mutating func nextNormal() -> Float {
        let u1 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return Float((-2.0 * Foundation.log(max(u1, 1e-300))).squareRoot() * Foundation.cos(2.0 * Double.pi * u2))
    }
}

extension Tensor {
    /// Normal values with the given mean and standard deviation, drawn from `generator`.
    public static func randomNormal(_ shape: [Int], mean: Float = 0, std: Float = 1,
                                    using generator: inout SeededGenerator) -> Tensor {
        var t = Tensor(uninitializedShape: shape)
        let p = t.storage.pointer
        for i in 0..<t.count { p[i] = mean + std * generator.nextNormal() }
        t.variable = -1
        return t
    }

    /// Uniform values in [low, high), drawn from `generator`.
    public static func randomUniform(_ shape: [Int], low: Float = 0, high: Float = 1,
                                     using generator: inout SeededGenerator) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        let p = t.storage.pointer
        for i in 0..<t.count { p[i] = low + (high - low) * generator.nextUniform() }
        return t
    }
}
