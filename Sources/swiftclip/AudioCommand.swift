import ArgumentParser
import Audio
import Foundation
import Retrieval

/// `swiftclip audio`: audio tools.
struct AudioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audio",
        abstract: "Audio tools: log-mel filter banks of WAV/FLAC files.",
        subcommands: [AudioFbankCommand.self])
}

/// `swiftclip audio fbank FILE`: the Kaldi log-mel filter bank ImageBind and AST feed their audio encoders.
struct AudioFbankCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fbank",
        abstract: "Decode FILE (WAV, FLAC), mix to mono, resample to 16 kHz, remove the mean and compute the Kaldi log-mel "
            + "filter bank (25 ms Hanning windows every 10 ms, 128 HTK mel bins, as torchaudio.compliance.kaldi.fbank).")

    @Argument(help: "Audio file (WAV, FLAC or any format the system's libsndfile reads).")
    var file: String

    @Option(name: .long, help: "Write the features as a float32 .npy [frames, mel bins].")
    var output: String?

    @Flag(name: .long, help: "Print the features as one JSON object (file, sample_rate, frames, mel_bins, values).")
    var json = false

    @Option(name: .long, help: "Pad with zeros or crop to this many frames (ImageBind: 204, AST: 1024).")
    var targetFrames: Int?

    @Flag(name: .long, help: "Normalise by the dataset mean and std of ImageBind's audio transform (-4.268, 9.138).")
    var normalize = false

    func validate() throws {
        if let targetFrames, targetFrames <= 0 { throw ValidationError("--target-frames must be positive") }
        if json && output != nil { throw ValidationError("give at most one of --json and --output") }
    }

    func run() throws {
        do {
            let defaults = AudioFeatureSettings()
            let clip = try SoundFileDecoder.decode(path: file)
            var features = try AudioFeatureExtractor(settings: defaults).filterBank(of: clip, name: file)
            if let targetFrames { features = features.fitted(toFrames: targetFrames) }
            if normalize { features = features.normalized(mean: defaults.mean, std: defaults.std) }
            let summary = "\(file): \(clip.channels) channel(s) at \(clip.sampleRate) Hz, \(clip.frameCount) samples -> "
                + "\(features.frames) frames x \(features.melBins) mel bins"
            if let output {
                let matrix = NumpyMatrix(rows: features.frames, columns: features.melBins, dtype: .f32, values: features.values)
                do { try matrix.encoded().write(to: URL(fileURLWithPath: output), options: .atomic) } catch {
                    throw AudioError("\(output): cannot write: \(error.localizedDescription)")
                }
                print("\(summary), written to \(output)")
            } else if json {
                let rows = (0..<features.frames).map { Array(features.values[($0 * features.melBins)..<(($0 + 1) * features.melBins)]) }
                let object: [String: Any] = ["file": file, "sample_rate": clip.sampleRate, "frames": features.frames,
                                             "mel_bins": features.melBins, "values": rows]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self))
            } else {
                let values = features.values
                let mean = values.reduce(0, +) / Float(max(values.count, 1))
                print("\(summary); min \(values.min() ?? 0), max \(values.max() ?? 0), mean \(mean)")
            }
        } catch let error as AudioError {
            FileHandle.standardError.write(Data("swiftclip audio fbank: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
