import Audio
import Foundation
import TensorCore

/// Spoken emoji names (`swiftclip data emoji --speech`): espeak-ng says each name with a voice, variant, speed and
/// pitch chosen from the sample's key, resampled to 16 kHz mono, with low-level Gaussian noise seeded by the key, and
/// stored as 16-bit WAV. espeak-ng is deterministic, so the same inputs give the same bytes. Several espeak-ng
/// processes run at once (each call is mostly process start-up).
public struct EmojiSpeech {
    public static let voices = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan"]
    public static let variants = ["m1", "m2", "m3", "m4", "m5", "f1", "f2", "f3", "f4", "f5"]
    /// Variants a data set may keep for validation only, to measure generalisation to unheard speakers.
    public static let heldOutVariants = ["m5", "f5"]
    public static let trainingVariants = variants.filter { !heldOutVariants.contains($0) }
    public static let sampleRate = 16000

    /// How one sample is spoken.
    public struct Rendition: Equatable, Sendable {
        public var voice: String
        public var wordsPerMinute: Int
        public var pitch: Int
        public var noise: Float

        /// espeak-ng's arguments for `text` written to `path` (a file: on a pipe espeak-ng cannot fill in the WAV sizes).
        func arguments(_ text: String, path: String) -> [String] {
            ["-v", voice, "-s", String(wordsPerMinute), "-p", String(pitch), "-w", path, text]
        }
    }

    public let executable: String

    public init(executable: String = "/usr/bin/espeak-ng") throws {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw EmojiDataError.missingSource(path: executable, package: "espeak-ng")
        }
        self.executable = executable
    }

    /// The rendition of sample `key`, with a variant from `variants`: a pure function of both.
    public static func rendition(key: String, variants: [String] = variants) -> Rendition {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        var rng = SplitMix64(mixing: hash, 0x5BEEC4)
        let voice = voices[rng.below(voices.count)] + "+" + variants[rng.below(variants.count)]
        return Rendition(voice: voice, wordsPerMinute: 120 + rng.below(81), pitch: 25 + rng.below(51),
                         noise: Float(rng.uniform(0.002, 0.01)))
    }

    /// The WAV bytes of `text` spoken as sample `key`; errors name the key.
    public func speak(_ text: String, key: String) throws -> [UInt8] {
        try speak(text, key: key, as: Self.rendition(key: key))
    }

    /// The WAV bytes of `text` spoken with `rendition`; errors name `key`.
    public func speak(_ text: String, key: String, as rendition: Rendition) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        let path = NSTemporaryDirectory() + "/swiftclip-speech-\(UUID().uuidString).wav"
        defer { try? FileManager.default.removeItem(atPath: path) }
        process.arguments = rendition.arguments(text, path: path)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        let data = FileManager.default.contents(atPath: path) ?? Data()
        guard process.terminationStatus == 0 else {
            throw EmojiDataError.invalidOption("espeak-ng failed (status \(process.terminationStatus)) speaking \(key): \(text.debugDescription)")
        }
        let clip: AudioClip
        do { clip = try SoundFileDecoder.decode(data, name: "espeak-ng output for \(key)") } catch {
            throw EmojiDataError.invalidOption("\(error)")
        }
        var samples = try AudioResampler(from: clip.sampleRate, to: Self.sampleRate).resample(clip.mono())
        var rng = SplitMix64(mixing: UInt64(samples.count), UInt64(rendition.pitch), UInt64(rendition.wordsPerMinute), 0x4015E)
        for i in samples.indices { samples[i] += rendition.noise * rng.nextNormal() }
        return WAVEncoder.pcm16(samples, sampleRate: Self.sampleRate)
    }

    /// Every `(text, key)` spoken as its key's rendition, in order.
    public func speakAll(_ items: [(text: String, key: String)], parallel: Int = 8) throws -> [[UInt8]] {
        try speakAll(items.map { (text: $0.text, key: $0.key, rendition: Self.rendition(key: $0.key)) }, parallel: parallel)
    }

    /// Every item spoken, in order, by `parallel` threads each running one espeak-ng process at a time.
    public func speakAll(_ items: [(text: String, key: String, rendition: Rendition)], parallel: Int = 8) throws -> [[UInt8]] {
        let box = SpeechResults(count: items.count)
        let done = DispatchGroup()
        let workers = max(1, min(parallel, items.count))
        for worker in 0..<workers {
            done.enter()
            let thread = Thread {
                for index in stride(from: worker, to: items.count, by: workers) where !box.failed {
                    box.store(index, Result { try speak(items[index].text, key: items[index].key, as: items[index].rendition) })
                }
                done.leave()
            }
            thread.start()
        }
        done.wait()
        return try box.values()
    }
}

/// The spoken samples as threads finish them; the first error wins.
private final class SpeechResults: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [[UInt8]?]
    private var failure: Error?

    init(count: Int) { results = [[UInt8]?](repeating: nil, count: count) }

    var failed: Bool { lock.lock(); defer { lock.unlock() }; return failure != nil }

    func store(_ index: Int, _ result: Result<[UInt8], Error>) {
        lock.lock(); defer { lock.unlock() }
        switch result {
        case .success(let bytes): results[index] = bytes
        case .failure(let error): failure = failure ?? error
        }
    }

    func values() throws -> [[UInt8]] {
        if let failure { throw failure }
        return results.map { $0! }
    }
}
