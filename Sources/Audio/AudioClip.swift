/// Decoded PCM audio: `channels` interleaved channels of float samples in [-1, 1] (libsndfile's normalisation: 16-bit
/// integers are divided by 32768, as torchaudio and soundfile do).
public struct AudioClip: Equatable {
    public var sampleRate: Int
    public var channels: Int
    /// Frame-major: sample `c` of frame `f` is `samples[f * channels + c]`.
    public var samples: [Float]

    public init(sampleRate: Int, channels: Int, samples: [Float]) {
        precondition(channels > 0 && samples.count % channels == 0, "AudioClip: \(samples.count) samples for \(channels) channels")
        self.sampleRate = sampleRate
        self.channels = channels
        self.samples = samples
    }

    public var frameCount: Int { samples.count / channels }
    public var duration: Double { Double(frameCount) / Double(sampleRate) }

    /// The mean over channels of each frame (the mix-down torchaudio users write as `waveform.mean(0)`).
    public func mono() -> [Float] {
        if channels == 1 { return samples }
        let scale = 1 / Float(channels)
        var mixed = [Float](repeating: 0, count: frameCount)
        samples.withUnsafeBufferPointer { source in
            for frame in 0..<frameCount {
                var sum: Float = 0
                for channel in 0..<channels { sum += source[frame * channels + channel] }
                mixed[frame] = sum * scale
            }
        }
        return mixed
    }
}
