@testable import Audio
import Foundation
import XCTest

/// The filter bank against torchaudio.compliance.kaldi.fbank with ImageBind's arguments on real waveforms.
final class KaldiFilterBankTests: XCTestCase {
    /// The fixture's 16 kHz waveforms (the reference resampler's output, or the clip itself at 16 kHz).
    func waveform(_ clip: AudioFixture.Clip) throws -> [Float] {
        if let resampled = clip.resampled { return try AudioFixture.floats(resampled) }
        return try SoundFileDecoder.decode(path: AudioFixture.path(clip.file)).mono()
    }

    func testMatchesTorchaudioFbankTo1e4() throws {
        let bank = try KaldiFilterBank()
        for clip in try AudioFixture.index().clips {
            let ours = bank.compute(try waveform(clip))
            XCTAssertEqual(ours.count, clip.fbank_frames * clip.mel_bins, clip.file)
            let reference = AudioFixture.maxAbsDifference(ours, try AudioFixture.floats(clip.fbank))
            XCTAssertLessThan(reference, 1e-4, "\(clip.file): against torchaudio's float64 path")
            // torchaudio's float32 path differs from its own float64 path by `torch_f32_fbank_max_abs_diff`; we are no
            // further from it than that plus the tolerance.
            let float32 = AudioFixture.maxAbsDifference(ours, try AudioFixture.floats(clip.fbank_torch_f32))
            XCTAssertLessThan(float32, clip.torch_f32_fbank_max_abs_diff + 1e-4, "\(clip.file): against torchaudio's float32 path")
        }
    }

    func testDecodeResampleAndFbankEndToEnd() throws {
        let extractor = try AudioFeatureExtractor()
        for clip in try AudioFixture.index().clips {
            let decoded = try SoundFileDecoder.decode(path: AudioFixture.path(clip.file))
            let features = try extractor.filterBank(of: decoded, name: clip.file)
            XCTAssertEqual(features.frames, clip.fbank_frames, clip.file)
            XCTAssertEqual(features.melBins, 128, clip.file)
            // The resampled waveform may differ from the stored one in the last float bit, which moves the quietest
            // bins of a loud frame a little.
            XCTAssertLessThan(AudioFixture.maxAbsDifference(features.values, try AudioFixture.floats(clip.fbank)), 1e-3, clip.file)
        }
    }

    func testFFTMatchesADirectDFTInEveryLane() {
        let fft = RealFFT(size: 16)
        let signals: [[Double]] = (0..<4).map { lane in
            (0..<16).map { (n: Int) -> Double in
                let phase = Double(n) * (0.7 + Double(lane))
                return sin(phase) + 0.25 * Double((n + lane) % 3)
            }
        }
        let packed = (0..<16).map { n in FrameLanes(signals[0][n], signals[1][n], signals[2][n], signals[3][n]) }
        var power = [FrameLanes](repeating: FrameLanes(), count: 9)
        packed.withUnsafeBufferPointer { fft.powerSpectrum($0.baseAddress!, into: &power) }
        for (lane, signal) in signals.enumerated() {
            for k in 0...8 {
                var re = 0.0, im = 0.0
                for (n, x) in signal.enumerated() {
                    re += x * cos(2 * Double.pi * Double(k * n) / 16)
                    im -= x * sin(2 * Double.pi * Double(k * n) / 16)
                }
                XCTAssertEqual(power[k][lane], re * re + im * im, accuracy: 1e-9, "lane \(lane) bin \(k)")
            }
        }
    }

    func testFrameGroupsOfFourGiveTheSameRowsAsSingleFrames() throws {
        // 1 to 6 frames: full groups, a partial last group, a single frame.
        let bank = try KaldiFilterBank()
        let waveform: [Float] = (0..<(400 + 5 * 160)).map { (n: Int) -> Float in
            let t = Double(n)
            return Float(0.5 * sin(t * 0.37) + 0.1 * cos(t * t * 0.001))
        }
        let all = bank.compute(waveform, subtractingMean: false)
        for frames in 1...6 {
            let prefix = Array(waveform.prefix(400 + (frames - 1) * 160))
            XCTAssertEqual(bank.compute(prefix, subtractingMean: false), Array(all.prefix(frames * 128)),
                           "\(frames) frames")
        }
        XCTAssertEqual(all.count, 6 * 128)
    }

    func testFrameCountsAndShortInput() throws {
        let options = FilterBankOptions()
        XCTAssertEqual(options.frameLength, 400)
        XCTAssertEqual(options.frameShift, 160)
        XCTAssertEqual(options.fftSize, 512)
        XCTAssertEqual(options.frameCount(samples: 399), 0)
        XCTAssertEqual(options.frameCount(samples: 400), 1)
        XCTAssertEqual(options.frameCount(samples: 16000), 98)
        let extractor = try AudioFeatureExtractor()
        XCTAssertThrowsError(try extractor.filterBank(of: AudioClip(sampleRate: 16000, channels: 1, samples: [Float](repeating: 0.1, count: 300)),
                                                      name: "short.wav")) {
            XCTAssertTrue("\($0)".hasPrefix("short.wav: 300 samples at 16000 Hz are shorter than one"))
        }
    }

    func testFittingAndNormalisationAsImageBind() {
        let spectrogram = LogMelSpectrogram(frames: 3, melBins: 2, values: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(spectrogram.fitted(toFrames: 2).values, [1, 2, 3, 4])
        XCTAssertEqual(spectrogram.fitted(toFrames: 4).values, [1, 2, 3, 4, 5, 6, 0, 0])
        let normalized = spectrogram.fitted(toFrames: 4).normalized(mean: -4, std: 2)
        XCTAssertEqual(normalized.values, [2.5, 3, 3.5, 4, 4.5, 5, 2, 2])
    }

    func testClipsAsImageBindSamplesThem() throws {
        // 5 s at 16 kHz, three 2 s clips: starts 0, 1.5 s, 3 s.
        XCTAssertEqual(AudioFeatureExtractor.clipRanges(samples: 80000, clips: 3, length: 32000), [0..<32000, 24000..<56000, 48000..<80000])
        XCTAssertEqual(AudioFeatureExtractor.clipRanges(samples: 80001, clips: 3, length: 32000), [0..<32000, 24000..<56000, 48001..<80001])
        XCTAssertEqual(AudioFeatureExtractor.clipRanges(samples: 20000, clips: 3, length: 32000), Array(repeating: 0..<20000, count: 3))
        XCTAssertEqual(AudioFeatureExtractor.clipRanges(samples: 50000, clips: 1, length: 32000), [0..<32000])

        let extractor = try AudioFeatureExtractor()
        let clip = try SoundFileDecoder.decode(path: AudioFixture.path("speech-22050.wav"))
        let clips = try extractor.clipFeatures(of: clip, name: "speech-22050.wav")
        XCTAssertEqual(clips.count, 3)
        // 2.0 s of speech is exactly one window: every clip is the whole recording, 198 frames padded to 204.
        let whole = try extractor.features(of: clip, name: "speech-22050.wav")
        for features in clips {
            XCTAssertEqual(features.frames, 204)
            XCTAssertEqual(features.values, whole.values)
        }
        XCTAssertEqual(Array(whole.values.suffix(128)), [Float](repeating: (0 - Float(-4.268)) * (1 / Float(9.138)), count: 128), "padding: zeros, normalised")
    }
}
