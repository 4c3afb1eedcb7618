import Foundation
import TensorCore

/// Training-time augmentation of recordings (`--audio-augment`): on the waveform a random gain, a time shift and
/// additive Gaussian noise; on the normalised filter bank SpecAugment's time and frequency masks (set to 0, the
/// dataset mean). Every draw comes from the sample's own generator, so a run is reproducible and resumes exactly.
/// The default does nothing.
public struct AudioAugmentation: Sendable, Equatable {
    /// Gain uniform in [-gainDecibels, +gainDecibels] dB.
    public var gainDecibels: Double = 0
    /// Shift uniform in [-shiftSeconds, +shiftSeconds]: later (silence in front) or earlier (the start cut off).
    public var shiftSeconds: Double = 0
    /// Gaussian noise of a standard deviation uniform in [0, noise] (full scale is 1).
    public var noise: Double = 0
    /// Widest time mask in frames and how many masks (each of width uniform in [0, timeMask), as torchaudio's TimeMasking).
    public var timeMask = 0
    public var timeMasks = 1
    /// Widest frequency mask in mel bins and how many masks.
    public var frequencyMask = 0
    public var frequencyMasks = 1

    public init() {}

    public var isIdentity: Bool { gainDecibels == 0 && shiftSeconds == 0 && noise == 0 && timeMask == 0 && frequencyMask == 0 }

    /// Gain, shift and noise, in that order, on a mono waveform at `sampleRate`.
    func augment(_ waveform: inout [Float], sampleRate: Int, rng: inout SplitMix64) {
        if gainDecibels > 0 {
            let gain = Float(pow(10, rng.uniform(-gainDecibels, gainDecibels) / 20))
            for i in waveform.indices { waveform[i] *= gain }
        }
        if shiftSeconds > 0 {
            let shift = Int((rng.uniform(-shiftSeconds, shiftSeconds) * Double(sampleRate)).rounded())
            if shift > 0 {
                waveform = [Float](repeating: 0, count: shift) + waveform
            } else if shift < 0 {
                // Never below one sample: a shift must not turn a recording into an empty one.
                waveform.removeFirst(min(-shift, waveform.count - 1))
            }
        }
        if noise > 0 {
            let level = Float(rng.uniform(0, noise))
            for i in waveform.indices { waveform[i] += level * rng.nextNormal() }
        }
    }

    /// SpecAugment's masks on `melBins × frames` values: the time masks, then the frequency masks.
    func mask(_ values: inout [Float], melBins: Int, frames: Int, rng: inout SplitMix64) {
        if timeMask > 0 {
            for _ in 0..<timeMasks {
                let (start, width) = Self.span(maximum: timeMask, of: frames, rng: &rng)
                for bin in 0..<melBins {
                    for frame in start..<(start + width) { values[bin * frames + frame] = 0 }
                }
            }
        }
        if frequencyMask > 0 {
            for _ in 0..<frequencyMasks {
                let (start, width) = Self.span(maximum: frequencyMask, of: melBins, rng: &rng)
                for bin in start..<(start + width) {
                    for frame in 0..<frames { values[bin * frames + frame] = 0 }
                }
            }
        }
    }

    /// torchaudio's mask_along_axis: width uniform in [0, maximum) (at most `length`), start uniform in [0, length - width).
    static func span(maximum: Int, of length: Int, rng: inout SplitMix64) -> (start: Int, width: Int) {
        let width = min(Int(rng.uniform(0, Double(maximum))), length)
        let start = Int(rng.uniform(0, Double(length - width)))
        return (start, width)
    }
}

extension AudioAugmentation {
    /// Keys `--audio-augment` accepts.
    public static let acceptedKeys = ["gain_db", "shift_s", "noise", "time_mask", "time_masks", "freq_mask", "freq_masks"]

    /// `key=value` items (`gain_db=6 shift_s=0.2 noise=0.005 time_mask=24 freq_mask=16`), one item or several per
    /// argument, or `none`. A bad item throws one line naming it and listing the keys.
    public init(parsing arguments: [String]) throws {
        self.init()
        let items = arguments.flatMap { $0.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init) }
        if items == ["none"] { return }
        for item in items {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else { throw Self.problem("'\(item)' is not key=value") }
            let key = parts[0], value = parts[1]
            switch key {
            case "gain_db": gainDecibels = try Self.number(value, key: key)
            case "shift_s": shiftSeconds = try Self.number(value, key: key)
            case "noise": noise = try Self.number(value, key: key)
            case "time_mask": timeMask = try Self.count(value, key: key)
            case "time_masks": timeMasks = try Self.count(value, key: key)
            case "freq_mask": frequencyMask = try Self.count(value, key: key)
            case "freq_masks": frequencyMasks = try Self.count(value, key: key)
            default: throw Self.problem("unknown key '\(key)'")
            }
        }
    }

    static func number(_ text: String, key: String) throws -> Double {
        guard let value = Double(text), value.isFinite, value >= 0 else { throw problem("\(key)=\(text) is not a non-negative number") }
        return value
    }

    static func count(_ text: String, key: String) throws -> Int {
        guard let value = Int(text), value >= 0 else { throw problem("\(key)=\(text) is not a non-negative integer") }
        return value
    }

    static func problem(_ message: String) -> DataPipelineError {
        .invalidOption("--audio-augment: \(message) (accepted keys: \(acceptedKeys.joined(separator: ", ")); or none)")
    }
}
