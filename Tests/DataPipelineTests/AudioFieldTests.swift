import Audio
import Foundation
import TensorCore
import XCTest
@testable import DataPipeline

/// A sine sweep with a little harmonic content, so filter banks differ from frame to frame.
func tone(seconds: Double, rate: Int, frequency: Double = 440) -> [Float] {
    (0..<Int(seconds * Double(rate))).map { index in
        let t = Double(index) / Double(rate), f = frequency * (1 + t)
        return Float(0.4 * sin(2 * Double.pi * f * t) + 0.1 * sin(6 * Double.pi * f * t))
    }
}

/// A RIFF/WAVE file of 16-bit samples (`formatTag` 1 is PCM; others make files libsndfile cannot read).
func pcm16WAV(_ samples: [Float], rate: Int, channels: Int = 1, formatTag: UInt16 = 1) -> [UInt8] {
    func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
    func le16(_ v: Int) -> [UInt8] { (0..<2).map { UInt8((v >> (8 * $0)) & 0xFF) } }
    let data = samples.flatMap { sample -> [UInt8] in le16(Int(Int16(max(-1, min(1, sample)) * 32767)) & 0xFFFF) }
    return Array("RIFF".utf8) + le32(36 + data.count) + Array("WAVE".utf8) + Array("fmt ".utf8) + le32(16) + le16(Int(formatTag))
        + le16(channels) + le32(rate) + le32(rate * channels * 2) + le16(channels * 2) + le16(16) + Array("data".utf8) + le32(data.count) + data
}

/// Audio fields through the loader: decoding into filter banks, bad recordings as counted skips, and augmentation that
/// is a pure function of (seed, epoch, position).
final class AudioFieldTests: XCTestCase {
    static let fields: [SampleField] = [.audio, .label]

    func shard(_ dir: String, count: Int = 8) throws -> String {
        let path = dir + "/speech-0.tar"
        try writeShard(path, (0..<count).map { index in
            let rate = index % 2 == 0 ? 16000 : 22050
            return (String(format: "%04d", index), [("wav", pcm16WAV(tone(seconds: 0.6 + 0.1 * Double(index), rate: rate, frequency: 200 + 50 * Double(index)), rate: rate)),
                                                     ("cls", Array("\(index % 3)".utf8))])
        })
        return path
    }

    func loader(_ source: SampleSource, mode: LoaderOptions.Mode, batchSize: Int = 4, seed: UInt64 = 7, audio: AudioTransform = AudioTransform(),
                worldSize: Int = 1, rank: Int = 0, start: Int = 0, warnings: WarningLog = WarningLog(limit: 0)) throws -> DataLoader {
        try DataLoader(source: source, tokenizer: WordHashTokenizer(),
                       options: LoaderOptions(mode: mode, batchSize: batchSize, worldSize: worldSize, rank: rank, seed: seed, startPosition: start,
                                              transform: ImageTransform(mode: mode == .training ? .train : .eval, size: 8), workers: 0,
                                              warnings: warnings, fields: Self.fields, audio: audio))
    }

    static var augmented: AudioTransform {
        var audio = AudioTransform()
        audio.augmentation = try! AudioAugmentation(parsing: ["gain_db=6 shift_s=0.2 noise=0.01", "time_mask=30", "freq_mask=20", "freq_masks=2"])
        return audio
    }

    func testAudioMembersBecomeNormalisedFilterBanksOfTheEncodersShape() throws {
        let dir = try makeScratchDirectory(self)
        let source = try WebDatasetSource(shardSpec: try shard(dir), fields: Self.fields)
        let batch = try loader(source, mode: .evaluation).buildBatch(0)
        XCTAssertEqual(batch.count, 4)
        XCTAssertEqual(batch.labels, [0, 1, 2, 0])
        XCTAssertEqual([batch.melBins, batch.audioFrames], [128, 204])
        let values = try XCTUnwrap(batch.fields.spectrograms[.audio])
        XCTAssertEqual(values.count, 4 * 128 * 204)
        // Sample 1 (22050 Hz): the Audio module's features of the decoded clip, transposed to melBins × frames.
        var settings = AudioFeatureSettings()
        settings.clipsPerSample = 1
        let clip = try SoundFileDecoder.decode(pcm16WAV(tone(seconds: 0.7, rate: 22050, frequency: 250), rate: 22050), name: "x")
        let expected = try AudioFeatureExtractor(settings: settings).features(of: clip, name: "x")
        let sample = Array(values[(128 * 204)..<(2 * 128 * 204)])
        for frame in [0, 30, 67, 68, 203] {
            for bin in [0, 5, 64, 127] { XCTAssertEqual(sample[bin * 204 + frame], expected.values[frame * 128 + bin], "frame \(frame) bin \(bin)") }
        }
        // 0.7 s give 68 frames; the rest is zero padding before normalisation, i.e. -mean/std after it.
        XCTAssertEqual(sample[5 * 204 + 100], 4.268 / 9.138, accuracy: 1e-6)
        XCTAssertNotEqual(sample[5 * 204 + 67], sample[5 * 204 + 100])
    }

    func testBadRecordingsAreCountedSkipsNamingShardAndKey() throws {
        let dir = try makeScratchDirectory(self)
        let good = pcm16WAV(tone(seconds: 0.5, rate: 16000), rate: 16000)
        let path = dir + "/bad-0.tar"
        try writeShard(path, [
            ("good", [("wav", good), ("cls", Array("1".utf8))]),
            ("text", [("wav", Array("this is not audio".utf8)), ("cls", Array("1".utf8))]),
            ("cut", [("wav", Array(good.prefix(good.count / 2))), ("cls", Array("1".utf8))]),
            ("empty", [("wav", pcm16WAV([], rate: 16000)), ("cls", Array("1".utf8))]),
            ("short", [("wav", pcm16WAV(tone(seconds: 0.01, rate: 16000), rate: 16000)), ("cls", Array("1".utf8))]),
            ("alaw9", [("wav", pcm16WAV(tone(seconds: 0.5, rate: 16000), rate: 16000, formatTag: 0x1234)), ("cls", Array("1".utf8))]),
            ("flac", [("flac", [0x66, 0x4C, 0x61, 0x43, 0, 0, 0]), ("cls", Array("1".utf8))]),
        ])
        let collector = WarningCollector()
        let source = try WebDatasetSource(shardSpec: path, fields: Self.fields)
        let evaluation = try loader(source, mode: .evaluation, batchSize: 8, warnings: collector.log)
        let (batch, _) = try XCTUnwrap(try evaluation.next())
        XCTAssertEqual(batch.keys, ["bad-0.tar:good"])
        XCTAssertEqual(batch.skipped, 6)
        XCTAssertEqual(evaluation.skippedSamples, 6)
        XCTAssertEqual(batch.fields.spectrograms[.audio]?.count, 128 * 204)
        let messages = collector.messages
        XCTAssertEqual(messages.count, 6)
        for key in ["text", "cut", "empty", "short", "alaw9", "flac"] {
            XCTAssertTrue(messages.contains { $0.hasPrefix("bad-0.tar:\(key): ") && $0.hasSuffix("; sample skipped") }, "\(key): \(messages)")
        }
        XCTAssertTrue(messages.contains { $0.hasPrefix("bad-0.tar:cut: truncated") }, "\(messages)")
        XCTAssertTrue(messages.contains { $0.hasPrefix("bad-0.tar:empty: ") }, "\(messages)")
        // Training keeps batches full with substitutes, all of them the one good recording.
        let training = try loader(source, mode: .training, batchSize: 7, warnings: WarningLog(limit: 0))
        let full = try training.buildBatch(0)
        XCTAssertEqual(full.count, 7)
        XCTAssertEqual(Set(full.keys), ["bad-0.tar:good"])
        XCTAssertGreaterThanOrEqual(full.skipped, 6)
    }

    func testTargetRateThatCannotBeResampledStopsTheRunNamingTheFile() throws {
        let dir = try makeScratchDirectory(self)
        let source = try WebDatasetSource(shardSpec: try shard(dir), fields: Self.fields)
        var audio = AudioTransform()
        audio.sampleRate = 0
        XCTAssertThrowsError(try loader(source, mode: .evaluation, audio: audio)) { XCTAssertTrue("\($0)".contains("audio features"), "\($0)") }
        // A source rate the resampler refuses: an error naming the recording, never a substitute.
        let featurizer = try AudioFeaturizer(transform: AudioTransform())
        let clip = pcm16WAV(tone(seconds: 0.1, rate: 16000), rate: 2_000_000)
        XCTAssertThrowsError(try featurizer.features(of: clip, name: "fast.tar:0001", augment: false, rng: SplitMix64(seed: 1))) { error in
            let failure = error as? DataPipelineError
            // libsndfile may refuse such a header itself (a bad sample); when it reads it, resampling must stop the run.
            if case .unresamplableAudio = failure { XCTAssertTrue(failure!.stopsTheRun) }
            XCTAssertTrue("\(error)".hasPrefix("fast.tar:0001: "), "\(error)")
        }
    }

    func testAugmentationIsAPureFunctionOfSeedEpochAndPosition() throws {
        let dir = try makeScratchDirectory(self)
        let source = try WebDatasetSource(shardSpec: try shard(dir), fields: Self.fields, shuffleBufferSize: 4)
        let first = try loader(source, mode: .training, audio: Self.augmented).buildBatch(1)
        let again = try loader(source, mode: .training, audio: Self.augmented).buildBatch(1)
        XCTAssertEqual(first.fields.spectrograms[.audio], again.fields.spectrograms[.audio])
        // Resuming at sample 4 and splitting over two ranks give the same recordings, augmented the same way.
        let resumed = try loader(source, mode: .training, audio: Self.augmented, start: 4).buildBatch(0)
        XCTAssertEqual(resumed.keys, first.keys)
        XCTAssertEqual(resumed.fields.spectrograms[.audio], first.fields.spectrograms[.audio])
        let halves = try (0..<2).map { try loader(source, mode: .training, batchSize: 2, audio: Self.augmented, worldSize: 2, rank: $0).buildBatch(1) }
        XCTAssertEqual(halves.flatMap(\.keys), first.keys)
        XCTAssertEqual(halves.flatMap { $0.fields.spectrograms[.audio]! }, first.fields.spectrograms[.audio])
        // Another seed draws other augmentations; without augmentation, training features are evaluation's.
        let otherSeed = try loader(source, mode: .training, seed: 8, audio: Self.augmented).buildBatch(0)
        let plainSeed7 = try loader(source, mode: .training, audio: AudioTransform()).buildBatch(1)
        XCTAssertNotEqual(plainSeed7.fields.spectrograms[.audio], first.fields.spectrograms[.audio])
        XCTAssertEqual(plainSeed7.keys, first.keys)
        XCTAssertNotEqual(otherSeed.fields.spectrograms[.audio], first.fields.spectrograms[.audio])
        // Evaluation never augments.
        let evaluated = try loader(source, mode: .evaluation, audio: Self.augmented).buildBatch(0)
        XCTAssertEqual(evaluated.fields.spectrograms[.audio], try loader(source, mode: .evaluation).buildBatch(0).fields.spectrograms[.audio])
    }

    func testEachAugmentationDoesWhatItSays() throws {
        var rng = SplitMix64(seed: 3)
        var gain = AudioAugmentation()
        gain.gainDecibels = 6
        var waveform: [Float] = [0.5, -0.25, 0.125]
        gain.augment(&waveform, sampleRate: 16000, rng: &rng)
        let ratio = waveform[0] / 0.5
        XCTAssertEqual(waveform[1] / -0.25, ratio, accuracy: 1e-6)
        XCTAssertTrue((0.5...2.0).contains(ratio) && ratio != 1, "\(ratio)")

        var shift = AudioAugmentation()
        shift.shiftSeconds = 0.01
        var shifts = Set<Int>()
        for _ in 0..<50 {
            var moved = [Float](repeating: 1, count: 1000)
            shift.augment(&moved, sampleRate: 16000, rng: &rng)
            shifts.insert(moved.count - 1000)
            XCTAssertTrue(moved.count >= 840 && moved.count <= 1160)
        }
        XCTAssertTrue(shifts.contains { $0 > 0 } && shifts.contains { $0 < 0 }, "\(shifts)")

        var noise = AudioAugmentation()
        noise.noise = 0.1
        var silence = [Float](repeating: 0, count: 4000)
        noise.augment(&silence, sampleRate: 16000, rng: &rng)
        let rms = (silence.reduce(0) { $0 + $1 * $1 } / 4000).squareRoot()
        XCTAssertTrue(rms > 0 && rms < 0.1, "\(rms)")

        var masks = AudioAugmentation()
        masks.timeMask = 10
        masks.frequencyMask = 6
        masks.frequencyMasks = 2
        var zeroColumns = 0, zeroRows = 0
        for _ in 0..<20 {
            var values = [Float](repeating: 1, count: 16 * 40)
            masks.mask(&values, melBins: 16, frames: 40, rng: &rng)
            zeroColumns += (0..<40).filter { frame in (0..<16).allSatisfy { values[$0 * 40 + frame] == 0 } }.count
            zeroRows += (0..<16).filter { bin in (0..<40).allSatisfy { values[bin * 40 + $0] == 0 } }.count
            XCTAssertTrue(values.contains(1))
        }
        XCTAssertTrue(zeroColumns > 0 && zeroRows > 0, "\(zeroColumns) \(zeroRows)")
    }

    func testAudioAugmentParsing() throws {
        let parsed = try AudioAugmentation(parsing: ["gain_db=6", "shift_s=0.25,noise=0.005 time_mask=24 time_masks=2 freq_mask=16"])
        XCTAssertEqual([parsed.gainDecibels, parsed.shiftSeconds, parsed.noise], [6, 0.25, 0.005])
        XCTAssertEqual([parsed.timeMask, parsed.timeMasks, parsed.frequencyMask, parsed.frequencyMasks], [24, 2, 16, 1])
        XCTAssertTrue(try AudioAugmentation(parsing: ["none"]).isIdentity)
        XCTAssertThrowsError(try AudioAugmentation(parsing: ["gain=3"])) { XCTAssertTrue("\($0)".contains("unknown key 'gain'"), "\($0)") }
        XCTAssertThrowsError(try AudioAugmentation(parsing: ["noise=-1"])) { XCTAssertTrue("\($0)".contains("noise=-1 is not a non-negative number")) }
        XCTAssertThrowsError(try AudioAugmentation(parsing: ["time_mask"])) { XCTAssertTrue("\($0)".contains("'time_mask' is not key=value")) }
    }
}
