/// Mono 16-bit PCM RIFF/WAVE bytes: what the project's generated audio data (synthetic samples, the spoken emoji data
/// set) is stored as. Samples are clipped to [-1, 1] and rounded to the nearest of 32767 steps.
public enum WAVEncoder {
    public static func pcm16(_ samples: [Float], sampleRate: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(44 + 2 * samples.count)
        func append32(_ value: Int) { for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8((value >> shift) & 0xFF)) } }
        func append16(_ value: Int) { bytes.append(UInt8(value & 0xFF)); bytes.append(UInt8((value >> 8) & 0xFF)) }
        let dataSize = 2 * samples.count
        bytes += Array("RIFF".utf8)
        append32(36 + dataSize)
        bytes += Array("WAVEfmt ".utf8)
        append32(16)
        append16(1)  // PCM
        append16(1)  // mono
        append32(sampleRate)
        append32(2 * sampleRate)
        append16(2)
        append16(16)
        bytes += Array("data".utf8)
        append32(dataSize)
        for sample in samples { append16(Int((max(-1, min(1, sample)) * 32767).rounded())) }
        return bytes
    }
}
