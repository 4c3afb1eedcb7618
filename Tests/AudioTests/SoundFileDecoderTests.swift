@testable import Audio
import Foundation
import XCTest

/// Decoding through libsndfile against PCM decoded without it (Python's wave module for WAV, sox's libFLAC for FLAC).
final class SoundFileDecoderTests: XCTestCase {
    func testWAVAndFLACDecodeToTheReferencePCM() throws {
        for clip in try AudioFixture.index().clips {
            let decoded = try SoundFileDecoder.decode(path: AudioFixture.path(clip.file))
            XCTAssertEqual(decoded.sampleRate, clip.sample_rate, clip.file)
            XCTAssertEqual(decoded.channels, clip.channels, clip.file)
            XCTAssertEqual(decoded.frameCount, clip.frames, clip.file)
            XCTAssertEqual(Array(decoded.samples.prefix(32)), clip.decoded.head, clip.file)
            var sum = 0.0, sumAbs = 0.0, weighted = 0.0
            for (index, sample) in decoded.samples.enumerated() {
                sum += Double(sample)
                sumAbs += abs(Double(sample))
                weighted += Double(sample) * Double(index % 1000)
            }
            XCTAssertEqual(sum, clip.decoded.sum, accuracy: 1e-9 * max(1, abs(clip.decoded.sum_abs)), clip.file)
            XCTAssertEqual(sumAbs, clip.decoded.sum_abs, accuracy: 1e-9 * clip.decoded.sum_abs, clip.file)
            XCTAssertEqual(weighted, clip.decoded.weighted_sum, accuracy: 1e-9 * 1000 * clip.decoded.sum_abs, clip.file)
        }
    }

    func testDecodingFromBytesEqualsDecodingTheFile() throws {
        let name = "voice-chord-44100-stereo.flac"
        let data = try Data(contentsOf: AudioFixture.directory.appendingPathComponent(name))
        XCTAssertEqual(try SoundFileDecoder.decode(data, name: "shard-0.tar/0001.flac"),
                       try SoundFileDecoder.decode(path: AudioFixture.path(name)))
    }

    func testMonoIsTheChannelMean() {
        let clip = AudioClip(sampleRate: 8000, channels: 2, samples: [1, 0, 0.5, -0.5, -1, 1])
        XCTAssertEqual(clip.mono(), [0.5, 0, 0])
    }

    func testBadInputIsAnErrorNamingTheSource() throws {
        func message(_ data: Data) -> String {
            do {
                _ = try SoundFileDecoder.decode(data, name: "shard-3.tar/key7.wav")
                return "decoded"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertTrue(message(Data("not audio at all, just text".utf8)).hasPrefix("shard-3.tar/key7.wav: not a readable audio file"))
        XCTAssertTrue(message(Data()).hasPrefix("shard-3.tar/key7.wav: not a readable audio file"))

        let wav = try Data(contentsOf: AudioFixture.directory.appendingPathComponent("speech-22050.wav"))
        let truncated = message(wav.prefix(wav.count / 2))
        XCTAssertTrue(truncated.hasPrefix("shard-3.tar/key7.wav: truncated: the header declares 88200 data bytes"), truncated)
        let headerOnly = message(wav.prefix(44))
        XCTAssertTrue(headerOnly.hasPrefix("shard-3.tar/key7.wav:"), headerOnly)
        XCTAssertNotEqual(headerOnly, "decoded")

        XCTAssertThrowsError(try SoundFileDecoder.decode(path: "/nonexistent/clip.wav")) {
            XCTAssertEqual("\($0)", "/nonexistent/clip.wav: cannot read the file")
        }
    }
}
