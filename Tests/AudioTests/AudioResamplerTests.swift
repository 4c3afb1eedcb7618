@testable import Audio
import Foundation
import XCTest

/// Resampling against torchaudio.functional.resample's float64 path (stored as float32) on the fixture's clips.
final class AudioResamplerTests: XCTestCase {
    func testMatchesTorchaudioResample() throws {
        let index = try AudioFixture.index()
        var checked = 0
        for clip in index.clips {
            guard let reference = clip.resampled else { continue }
            let mono = try SoundFileDecoder.decode(path: AudioFixture.path(clip.file)).mono()
            let resampler = try AudioResampler(from: clip.sample_rate, to: index.target_rate)
            let ours = resampler.resample(mono)
            let expected = try AudioFixture.floats(reference)
            XCTAssertEqual(ours.count, clip.resampled_count, clip.file)
            let difference = AudioFixture.maxAbsDifference(ours, expected)
            // float32 rounding of values up to 1; torchaudio's own float32 path strays further (index.json).
            XCTAssertLessThan(difference, 1e-6, clip.file)
            checked += 1
        }
        XCTAssertEqual(checked, 3)
    }

    func testKeepsOnlyTheWindowedTaps() throws {
        // 22050 -> 16000 Hz reduces to 441 -> 320: torchaudio's phases have 459 taps, the window spans about 17.
        let resampler = try AudioResampler(from: 22050, to: 16000)
        XCTAssertEqual(resampler.kernel.count, 320 * resampler.tapCount)
        XCTAssertLessThanOrEqual(resampler.tapCount, 17)
        XCTAssertEqual(resampler.outputCount(for: 22050), 16000)
        XCTAssertEqual(resampler.outputCount(for: 1), 1)
    }

    func testPassesALowToneAndRemovesAnAliasingOne() throws {
        // 48 kHz -> 16 kHz: 1 kHz stays (gain ~1); 12 kHz (above the new Nyquist) is attenuated by more than 40 dB
        // (the 6-zero-crossing Hann-windowed sinc leaves about -55 dB).
        let resampler = try AudioResampler(from: 48000, to: 16000)
        func rms(_ frequency: Double) -> Double {
            let input = (0..<48000).map { Float(sin(2 * Double.pi * frequency * Double($0) / 48000)) }
            let output = resampler.resample(input)[1000..<15000]
            return (output.reduce(0) { $0 + Double($1) * Double($1) } / Double(output.count)).squareRoot()
        }
        XCTAssertEqual(rms(1000), 0.5.squareRoot(), accuracy: 1e-3)
        XCTAssertLessThan(rms(12000), 0.01 * 0.5.squareRoot())
    }

    func testRejectsRatesItCannotResample() {
        XCTAssertThrowsError(try AudioResampler(from: 0, to: 16000))
        XCTAssertThrowsError(try AudioResampler(from: 16000, to: -1))
        XCTAssertThrowsError(try AudioResampler(from: 10_000_000, to: 16000))
    }
}
