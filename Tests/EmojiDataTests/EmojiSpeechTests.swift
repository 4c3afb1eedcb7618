import Audio
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
}
