import Foundation

/// Tests/Fixtures/audio-fbank (written by Tools/generate_fbank_fixture.py from torchaudio; its README says how).
enum AudioFixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/audio-fbank")

    struct Decoded: Decodable {
        var sum: Double
        var sum_abs: Double
        var weighted_sum: Double
        var head: [Float]
    }

    struct Clip: Decodable {
        var file: String
        var sample_rate: Int
        var channels: Int
        var frames: Int
        var decoded: Decoded
        var resampled: String?
        var resampled_count: Int?
        var torch_f32_resample_max_abs_diff: Double?
        var fbank: String
        var fbank_torch_f32: String
        var fbank_frames: Int
        var mel_bins: Int
        var torch_f32_fbank_max_abs_diff: Double
    }

    struct Index: Decodable {
        var target_rate: Int
        var clips: [Clip]
    }

    static func index() throws -> Index {
        try JSONDecoder().decode(Index.self, from: Data(contentsOf: directory.appendingPathComponent("index.json")))
    }

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// A raw little-endian float32 array of the fixture.
    static func floats(_ name: String) throws -> [Float] {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return data.withUnsafeBytes { raw in (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) } }
    }

    static func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "\(a.count) vs \(b.count) values")
        return zip(a, b).reduce(0) { max($0, abs(Double($1.0) - Double($1.1))) }
    }
}
