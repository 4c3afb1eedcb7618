import Audio
import DataPipeline
import Foundation
import XCTest
@testable import EmojiData

/// Spoken names: espeak-ng renditions chosen from the key, 16 kHz mono WAV, the same bytes every time.
final class EmojiSpeechTests: XCTestCase {
    func speaker() throws -> EmojiSpeech {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/espeak-ng") else { throw XCTSkip("espeak-ng is not installed (launch/setup installs it)") }
        return try EmojiSpeech()
    }

    func testRenditionsArePureFunctionsOfTheKeyAndVary() {
        XCTAssertEqual(EmojiSpeech.rendition(key: "grinning-face"), EmojiSpeech.rendition(key: "grinning-face"))
        let renditions = (0..<200).map { EmojiSpeech.rendition(key: "emoji-\($0)") }
        XCTAssertGreaterThan(Set(renditions.map(\.voice)).count, 30)
        XCTAssertEqual(renditions.map(\.wordsPerMinute).min().map { $0 >= 120 }, true)
        XCTAssertEqual(renditions.map(\.wordsPerMinute).max().map { $0 <= 200 }, true)
        XCTAssertGreaterThan(Set(renditions.map(\.pitch)).count, 20)
    }

    func testSpeechIsReproducible16kHzMonoWAV() throws {
        let speaker = try speaker()
        let items = [(text: "grinning face", key: "a"), (text: "red apple", key: "b"), (text: "grinning face", key: "c")]
        let first = try speaker.speakAll(items, parallel: 3)
        XCTAssertEqual(first, try speaker.speakAll(items, parallel: 1))
        XCTAssertNotEqual(first[0], first[2])  // another rendition of the same name
        for wav in first {
            let clip = try SoundFileDecoder.decode(Data(wav), name: "speech")
            XCTAssertEqual([clip.sampleRate, clip.channels], [16000, 1])
            XCTAssertTrue((0.3...3.0).contains(clip.duration), "\(clip.duration) s")
            XCTAssertGreaterThan(clip.samples.map(abs).max() ?? 0, 0.05)
        }
        XCTAssertThrowsError(try EmojiSpeech(executable: "/nonexistent/espeak-ng")) { XCTAssertTrue("\($0)".contains("espeak-ng")) }
    }

    /// `data emoji --speech` built twice into two folders: every file (shards with their `.wav` members, zero-shot folders,
    /// README) the same bytes, and every sample, pairs included, has a decodable spoken name.
    func testSpokenBuildIsByteIdenticalInAnotherFolder() throws {
        _ = try speaker()
        guard FileManager.default.fileExists(atPath: EmojiFontTests.fontPath) else { throw XCTSkip("\(EmojiFontTests.fontPath) is not installed") }
        let root = NSTemporaryDirectory() + "emoji-speech-build-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        func build(_ name: String) throws -> EmojiDatasetSummary {
            var options = EmojiFontTests.excerptOptions(output: root + "/" + name)
            options.speech = true
            return try EmojiDatasetBuilder.build(options)
        }
        let summary = try build("a")
        _ = try build("other-folder")
        let files = try XCTUnwrap(FileManager.default.subpaths(atPath: root + "/a")).sorted()
        XCTAssertEqual(files, try XCTUnwrap(FileManager.default.subpaths(atPath: root + "/other-folder")).sorted())
        var compared = 0
        for file in files {
            var isFolder: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: root + "/a/" + file, isDirectory: &isFolder)
            if isFolder.boolValue { continue }
            XCTAssertEqual(FileManager.default.contents(atPath: root + "/a/" + file), FileManager.default.contents(atPath: root + "/other-folder/" + file), file)
            compared += 1
        }
        XCTAssertGreaterThan(compared, 10)
        var spoken = 0
        for shard in try [summary.trainPattern, summary.valPattern, summary.pairsTrainPattern].flatMap(BraceExpansion.expandSources) {
            let source = try WebDatasetSource(shardSpec: shard, fields: [.image, .text, .audio])
            for id in 0..<(try source.sampleCount()) {
                let sample = try source.load(id: id)
                guard case .bytes(let wav)? = sample.values[SampleField.audio.name] else { return XCTFail("\(sample.key): no .wav member") }
                XCTAssertEqual(try SoundFileDecoder.decode(Data(wav), name: sample.key).sampleRate, EmojiSpeech.sampleRate)
                spoken += 1
            }
        }
        XCTAssertEqual(spoken, summary.trainCount + summary.valCount + summary.pairsTrainCount)
    }
}
