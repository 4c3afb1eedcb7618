import Foundation

/// RIFF/WAVE files of 16-bit PCM, as generated test and demo data need them (decoding goes through libsndfile).
public enum WAVEncoding {
    /// The bytes of a 16-bit PCM WAV of mono `samples` in [-1, 1] (clipped) at `sampleRate`.
    public static func pcm16(_ samples: [Float], sampleRate: Int) -> [UInt8] {
        let dataBytes = samples.count * 2
        var bytes: [UInt8] = []
        bytes.reserveCapacity(44 + dataBytes)
        func append(_ text: String) { bytes += Array(text.utf8) }
        func append32(_ value: Int) { for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) } }
        func append16(_ value: Int) { bytes.append(UInt8(truncatingIfNeeded: value)); bytes.append(UInt8(truncatingIfNeeded: value >> 8)) }
        append("RIFF"); append32(36 + dataBytes); append("WAVE")
        append("fmt "); append32(16); append16(1); append16(1); append32(sampleRate); append32(sampleRate * 2); append16(2); append16(16)
        append("data"); append32(dataBytes)
        for sample in samples {
            append16(Int((max(-1, min(1, sample)) * 32767).rounded()))
        }
        return bytes
    }
}

/// A deterministic test signal: a sum of sinusoids with a little seeded noise, so that generated data sets can pair
/// sounds with what they describe (each class its own chord) without recordings.
public enum SyntheticTone {
    /// `seconds` of the chord of `frequencies` (equal amplitudes summing to 0.6) plus uniform noise of amplitude
    /// `noise` drawn from `seed`.
    public static func chord(_ frequencies: [Double], seconds: Double, sampleRate: Int, noise: Float = 0.02, seed: UInt64 = 0) -> [Float] {
        let count = Int(seconds * Double(sampleRate)), amplitude = 0.6 / Double(max(frequencies.count, 1))
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { i in
            let t = Double(i) / Double(sampleRate)
            var value = 0.0
            for f in frequencies { value += amplitude * Foundation.sin(2 * Double.pi * f * t) }
            // SplitMix64 steps: the same noise for the same seed on every machine.
            state = state &+ 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            let uniform = Float(z >> 40) / 16_777_216
            return Float(value) + noise * (2 * uniform - 1)
        }
    }
}
