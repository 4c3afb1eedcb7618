/// How a clip becomes encoder input; the defaults are ImageBind's audio preprocessing: 16 kHz, 128 mel bins, three 2 s
/// clips per recording of 204 frames each, normalised by AudioSet's mean -4.268 and std 9.138 (AST uses one clip of 1024
/// frames and std 4.5689974).
public struct AudioFeatureSettings: Equatable {
    public var filterBank = FilterBankOptions()
    public var targetFrames = 204
    public var clipsPerSample = 3
    public var clipSamples = 32000
    public var mean: Float = -4.268
    public var std: Float = 9.138

    public init() {}
}

/// Decoded clip → mono → resampled to the filter bank's rate → mean removed → Kaldi log-mel filter bank, then fitted to
/// the target frame count and normalised. Resamplers are built once per source rate; not thread-safe (one per loader
/// thread).
public final class AudioFeatureExtractor {
    public let settings: AudioFeatureSettings
    let filterBank: KaldiFilterBank
    var resamplers: [Int: AudioResampler] = [:]

    public init(settings: AudioFeatureSettings = AudioFeatureSettings()) throws {
        guard settings.targetFrames > 0 else { throw AudioError("audio features: target frames must be positive") }
        guard settings.clipsPerSample > 0, settings.clipSamples > 0 else { throw AudioError("audio features: clips and clip length must be positive") }
        guard settings.std > 0 else { throw AudioError("audio features: the normalisation std must be positive") }
        self.settings = settings
        filterBank = try KaldiFilterBank(options: settings.filterBank)
    }

    /// The mono waveform at the filter bank's rate; errors name `name`.
    public func waveform(of clip: AudioClip, name: String) throws -> [Float] {
        let target = Int(settings.filterBank.sampleRate)
        if clip.sampleRate == target { return clip.mono() }
        let resampler: AudioResampler
        if let cached = resamplers[clip.sampleRate] {
            resampler = cached
        } else {
            do {
                resampler = try AudioResampler(from: clip.sampleRate, to: target)
            } catch let error as AudioError {
                throw AudioError("\(name): \(error.description)")
            }
            resamplers[clip.sampleRate] = resampler
        }
        return resampler.resample(clip.mono())
    }

    /// The raw log-mel filter bank of the whole clip (`swiftclip audio fbank`); a clip shorter than one frame is an error.
    public func filterBank(of clip: AudioClip, name: String) throws -> LogMelSpectrogram {
        try filterBank(ofWaveform: try waveform(of: clip, name: name), name: name)
    }

    /// The raw log-mel filter bank of a mono waveform already at the filter bank's rate (`waveform(of:name:)`, perhaps
    /// augmented); a waveform shorter than one frame is an error naming `name`.
    public func filterBank(ofWaveform samples: [Float], name: String) throws -> LogMelSpectrogram {
        let frames = filterBank.frameCount(samples: samples.count)
        guard frames > 0 else {
            throw AudioError("\(name): \(samples.count) samples at \(Int(settings.filterBank.sampleRate)) Hz are shorter than one "
                + "\(settings.filterBank.frameLengthMilliseconds) ms frame")
        }
        return LogMelSpectrogram(frames: frames, melBins: settings.filterBank.melBins, values: filterBank.compute(samples))
    }

    /// Encoder input: the filter bank fitted to `targetFrames` and normalised.
    public func features(of clip: AudioClip, name: String) throws -> LogMelSpectrogram {
        try filterBank(of: clip, name: name).fitted(toFrames: settings.targetFrames).normalized(mean: settings.mean, std: settings.std)
    }

    /// Encoder input for a recording of any length, as ImageBind cuts it: `clipsPerSample` windows of `clipSamples`
    /// with evenly spaced starts from 0 to the last full window (pytorchvideo's ConstantClipsPerVideoSampler; a
    /// recording shorter than one window gives the same whole recording each time), each with its own mean removed,
    /// filter bank, fitting to `targetFrames` and normalisation. A clip whose window is shorter than one frame is an
    /// error naming `name`.
    public func clipFeatures(of clip: AudioClip, name: String) throws -> [LogMelSpectrogram] {
        let samples = try waveform(of: clip, name: name)
        return try Self.clipRanges(samples: samples.count, clips: settings.clipsPerSample, length: settings.clipSamples).map { range in
            let window = Array(samples[range])
            let frames = filterBank.frameCount(samples: window.count)
            guard frames > 0 else {
                throw AudioError("\(name): \(window.count) samples at \(Int(settings.filterBank.sampleRate)) Hz are shorter than one frame")
            }
            return LogMelSpectrogram(frames: frames, melBins: settings.filterBank.melBins, values: filterBank.compute(window))
                .fitted(toFrames: settings.targetFrames).normalized(mean: settings.mean, std: settings.std)
        }
    }

    /// Sample ranges of the clips: starts floor(max(samples - length, 0) · i / (clips - 1)), as ImageBind truncates
    /// pytorchvideo's exact fractions of seconds to samples.
    public static func clipRanges(samples: Int, clips: Int, length: Int) -> [Range<Int>] {
        let room = max(samples - length, 0)
        return (0..<clips).map { index in
            let start = clips == 1 ? 0 : room * index / (clips - 1)
            return start..<min(start + length, samples)
        }
    }
}
