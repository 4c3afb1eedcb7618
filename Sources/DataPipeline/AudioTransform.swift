import Audio
import TensorCore

/// How the loader turns an audio field (WAV or FLAC bytes) into encoder input: decoded, mixed down to mono, resampled
/// to `sampleRate`, (training only) augmented as a waveform, Kaldi log-mel filter bank of `melBins` bins (ImageBind's
/// settings), fitted to `frames` frames (cut, or zero-padded before normalisation, as ImageBind pads), normalised by the
/// dataset's `mean` and `std`, transposed to `melBins × frames` (the encoder's one-channel image), then (training only)
/// SpecAugment's masks. The defaults are ImageBind's: 16 kHz, 128 bins, 204 frames, AudioSet's mean and std.
public struct AudioTransform: Sendable, Equatable {
    public var sampleRate = 16000
    public var melBins = 128
    public var frames = 204
    public var mean: Float = -4.268
    public var std: Float = 9.138
    /// Applied in training mode only; the default changes nothing.
    public var augmentation = AudioAugmentation()

    public init() {}

    /// Floats written per recording.
    public var outputCount: Int { melBins * frames }

    /// The filter bank's settings (one clip per recording: the whole recording, fitted).
    var featureSettings: AudioFeatureSettings {
        var settings = AudioFeatureSettings()
        settings.filterBank.sampleRate = Double(sampleRate)
        settings.filterBank.melBins = melBins
        settings.targetFrames = frames
        settings.clipsPerSample = 1
        settings.mean = mean
        settings.std = std
        return settings
    }
}

/// Decodes one batch's recordings into encoder input. Holds a filter bank and the resamplers met so far, so it is
/// built once per batch (batches are built on several threads).
final class AudioFeaturizer {
    let transform: AudioTransform
    let extractor: AudioFeatureExtractor

    init(transform: AudioTransform) throws {
        self.transform = transform
        do {
            extractor = try AudioFeatureExtractor(settings: transform.featureSettings)
        } catch {
            throw DataPipelineError.invalidOption("audio features: \(error)")
        }
    }

    /// The features of `bytes` (sample `name`) into `output` (`transform.outputCount` floats), augmented with `rng`
    /// when `augment`. An undecodable, truncated, empty or too short recording throws `corruptAudio` (a bad sample); a
    /// sample rate that cannot be resampled throws `unresamplableAudio` (stops the run).
    func features(of bytes: [UInt8], name: String, augment: Bool, rng: SplitMix64) throws -> [Float] {
        let clip: AudioClip
        do {
            clip = try SoundFileDecoder.decode(bytes, name: name)
        } catch let error as AudioError {
            throw DataPipelineError.corruptAudio(error.description)
        }
        var waveform: [Float]
        do {
            waveform = try extractor.waveform(of: clip, name: name)
        } catch let error as AudioError {
            throw DataPipelineError.unresamplableAudio(error.description)
        }
        var random = rng
        let augmentation = transform.augmentation, apply = augment && !augmentation.isIdentity
        if apply { augmentation.augment(&waveform, sampleRate: transform.sampleRate, rng: &random) }
        let bank: LogMelSpectrogram
        do {
            bank = try extractor.filterBank(ofWaveform: waveform, name: name)
        } catch let error as AudioError {
            throw DataPipelineError.corruptAudio(error.description)
        }
        let fitted = bank.fitted(toFrames: transform.frames).normalized(mean: transform.mean, std: transform.std)
        let bins = transform.melBins, frames = transform.frames
        var output = [Float](repeating: 0, count: bins * frames)
        for frame in 0..<frames {
            for bin in 0..<bins { output[bin * frames + frame] = fitted.values[frame * bins + bin] }
        }
        if apply { augmentation.mask(&output, melBins: bins, frames: frames, rng: &random) }
        return output
    }

    /// The recording's own stream, independent of the image augmentation drawn from the same per-sample generator.
    static func random(from sample: SplitMix64) -> SplitMix64 {
        SplitMix64(mixing: sample.state, RandomStream.audioAugmentation.rawValue)
    }
}
