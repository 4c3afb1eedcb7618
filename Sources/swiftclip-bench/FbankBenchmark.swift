import Audio
import Foundation
import TensorCore

/// Our side of Benchmarks/fbank.sh: `swiftclip-bench fbank WAV REPS` times resampling to 16 kHz and the Kaldi filter
/// bank (ImageBind's settings, waveform mean removed) on one WAV, and prints one JSON object (median milliseconds), the
/// same measurements as Benchmarks/torchaudio/fbank.py.
enum FbankBenchmark {
    static func run(_ arguments: [String]) {
        guard arguments.count >= 2, let reps = Int(arguments[1]), reps > 0 else {
            FileHandle.standardError.write(Data("usage: swiftclip-bench fbank WAV REPS\n".utf8))
            exit(2)
        }
        do {
            let clip = try SoundFileDecoder.decode(path: arguments[0])
            let mono = clip.mono()
            let resampler = try AudioResampler(from: clip.sampleRate, to: 16000)
            let bank = try KaldiFilterBank()
            let resampled = resampler.resample(mono)
            var frames = 0
            let resampleMs = medianMilliseconds(reps) { _ = resampler.resample(mono) }
            let fbankMs = medianMilliseconds(reps) { frames = bank.compute(resampled).count / bank.options.melBins }
            let result: [String: Any] = ["resample_ms": resampleMs, "fbank_ms": fbankMs, "frames": frames, "samples": mono.count]
            let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
            print(String(decoding: json, as: UTF8.self))
        } catch {
            FileHandle.standardError.write(Data("swiftclip-bench fbank: \(error)\n".utf8))
            exit(1)
        }
    }

    static func medianMilliseconds(_ reps: Int, _ body: () -> Void) -> Double {
        body()
        return (0..<reps).map { _ in Timing.seconds(body) }.median * 1000
    }
}
