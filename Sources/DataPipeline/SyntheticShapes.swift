import Audio
import Foundation
import TensorCore

/// A built-in procedural image–caption dataset needing no files: one coloured shape (circle, square, triangle, cross)
/// of three sizes at nine positions on a noisy, low-saturation gradient background, captioned with its attributes
/// ("a large red circle in the top left"). Every sample is a pure function of (seed, split, index).
///
/// Zero-shot classes are "<colour> <shape>": 5 colours × 4 shapes = 20 classes (chance 5%). Colours are saturated
/// and backgrounds grey-ish, so classes stay distinct at 32×32.
///
/// Each sample also has a sound (the `audio` field, 16 kHz WAV): a tone whose pitch names the colour, pulsing at a rate
/// that names the shape, louder for larger shapes, in noise; tests and quick runs of audio models need no files either.
public struct SyntheticShapes: Sendable {
    public enum Split: String, Sendable, CaseIterable { case train, val }

    public struct Colour: Sendable { public let name: String; public let rgb: (UInt8, UInt8, UInt8) }

    public static let colours: [Colour] = [
        Colour(name: "red", rgb: (220, 35, 35)),
        Colour(name: "green", rgb: (40, 185, 55)),
        Colour(name: "blue", rgb: (40, 75, 235)),
        Colour(name: "yellow", rgb: (240, 220, 30)),
        Colour(name: "purple", rgb: (160, 50, 210)),
    ]
    public static let shapes = ["circle", "square", "triangle", "cross"]
    public static let sizes: [(name: String, diameter: Double)] = [("small", 0.30), ("medium", 0.42), ("large", 0.56)]
    /// Grid positions (x, y as image fractions) and how captions name them.
    public static let positions: [(x: Double, y: Double, phrase: String)] = [
        (0.25, 0.25, "in the top left"), (0.5, 0.25, "at the top"), (0.75, 0.25, "in the top right"),
        (0.25, 0.5, "on the left"), (0.5, 0.5, "in the centre"), (0.75, 0.5, "on the right"),
        (0.25, 0.75, "in the bottom left"), (0.5, 0.75, "at the bottom"), (0.75, 0.75, "in the bottom right"),
    ]

    /// Zero-shot class names, index = label: colour-major ("red circle", "red square", ...).
    public static var classNames: [String] { colours.flatMap { c in shapes.map { "\(c.name) \($0)" } } }
    /// Zero-shot prompt templates matching the caption style.
    public static let templates = ["a {}.", "a photo of a {}.", "a small {}.", "a large {}.", "a {} in the centre."]

    /// One rendered sample with the attributes its caption was made from.
    public struct Sample: Sendable {
        public var image: RGBImage
        public var caption: String
        public var label: Int
        public var colour: Int, shape: Int, size: Int, position: Int
        /// Where the shape was drawn (pixels, after jitter) and its half-size in pixels.
        public var centreX: Double, centreY: Double, radius: Double
    }

    public var seed: UInt64
    public var imageSize: Int
    public var trainCount: Int
    public var valCount: Int
    /// Amplitude of the uniform per-pixel noise (0–255 scale).
    public var noise: Int

    public init(seed: UInt64 = 0, imageSize: Int = 32, trainCount: Int = 10_000, valCount: Int = 1_000, noise: Int = 12) {
        precondition(imageSize >= 8, "SyntheticShapes: images must be at least 8 px")
        self.seed = seed
        self.imageSize = imageSize
        self.trainCount = trainCount
        self.valCount = valCount
        self.noise = noise
    }

    public func count(_ split: Split) -> Int { split == .train ? trainCount : valCount }

    /// Renders sample `index` of `split`. Labels cycle through the classes so every split is class-balanced;
    /// everything else is drawn from the sample's own SplitMix64 stream.
    public func sample(_ split: Split, index: Int) -> Sample {
        var rng = SplitMix64(mixing: seed, split == .train ? 0 : 1, UInt64(index), RandomStream.synthetic.rawValue)
        let classCount = Self.colours.count * Self.shapes.count
        let label = index % classCount
        let colour = label / Self.shapes.count, shape = label % Self.shapes.count
        let size = rng.below(Self.sizes.count), position = rng.below(Self.positions.count)
        let (image, cx, cy, radius) = render(colour: colour, shape: shape, size: size, position: position, rng: &rng)
        let c = Self.colours[colour].name, s = Self.shapes[shape], z = Self.sizes[size].name, p = Self.positions[position].phrase
        let caption: String
        switch rng.below(3) {
        case 0: caption = "a \(z) \(c) \(s) \(p)"
        case 1: caption = "a photo of a \(z) \(c) \(s) \(p)"
        default: caption = "a \(c) \(s), \(z), \(p)"
        }
        return Sample(image: image, caption: caption, label: label, colour: colour, shape: shape, size: size, position: position,
                      centreX: cx, centreY: cy, radius: radius)
    }

    func render(colour: Int, shape: Int, size: Int, position: Int, rng: inout SplitMix64) -> (RGBImage, Double, Double, Double) {
        let n = imageSize
        let fn = Double(n)
        // Background: grey level with a slight tint and a linear gradient.
        let level = 35 + Double(rng.below(180))
        let tint = (rng.uniform(-18, 18), rng.uniform(-18, 18), rng.uniform(-18, 18))
        let gradient = (rng.uniform(-30, 30), rng.uniform(-30, 30))
        let base = Self.colours[colour].rgb
        let fill = (Double(base.0) + rng.uniform(-20, 20), Double(base.1) + rng.uniform(-20, 20), Double(base.2) + rng.uniform(-20, 20))
        let pos = Self.positions[position]
        let cx = (pos.x + rng.uniform(-0.04, 0.04)) * fn, cy = (pos.y + rng.uniform(-0.04, 0.04)) * fn
        let radius = Self.sizes[size].diameter * fn * rng.uniform(0.92, 1.08) / 2
        var pixels = [UInt8](repeating: 0, count: n * n * 3)
        let noiseSpan = noise * 2 + 1
        pixels.withUnsafeMutableBufferPointer { out in
            for y in 0..<n {
                for x in 0..<n {
                    // 2×2 supersampling gives anti-aliased edges.
                    var coverage = 0.0
                    for sy in 0..<2 {
                        for sx in 0..<2 {
                            let dx = (Double(x) + 0.25 + 0.5 * Double(sx) - cx) / radius
                            let dy = (Double(y) + 0.25 + 0.5 * Double(sy) - cy) / radius
                            if Self.inside(shape: shape, dx, dy) { coverage += 0.25 }
                        }
                    }
                    let g = gradient.0 * (Double(x) / fn - 0.5) + gradient.1 * (Double(y) / fn - 0.5)
                    let bg = (level + tint.0 + g, level + tint.1 + g, level + tint.2 + g)
                    let jitter = noise > 0 ? Double(rng.below(noiseSpan) - noise) : 0
                    let o = (y * n + x) * 3
                    out[o] = Self.byte(bg.0 + coverage * (fill.0 - bg.0) + jitter)
                    out[o + 1] = Self.byte(bg.1 + coverage * (fill.1 - bg.1) + jitter)
                    out[o + 2] = Self.byte(bg.2 + coverage * (fill.2 - bg.2) + jitter)
                }
            }
        }
        return (RGBImage(width: n, height: n, pixels: pixels), cx, cy, radius)
    }

    static func byte(_ v: Double) -> UInt8 { UInt8(max(0, min(255, v.rounded()))) }

    /// Shape membership in coordinates scaled so the shape spans about [-1, 1].
    static func inside(shape: Int, _ dx: Double, _ dy: Double) -> Bool {
        switch shape {
        case 0: return dx * dx + dy * dy <= 1
        case 1: return abs(dx) <= 0.85 && abs(dy) <= 0.85
        case 2:
            // Upward triangle with apex (0, -1) and base y = 0.85 from x = -1 to 1.
            guard dy <= 0.85, dy >= -1 else { return false }
            return abs(dx) <= (dy + 1) / 1.85
        default: return (abs(dx) <= 1 && abs(dy) <= 0.4) || (abs(dy) <= 1 && abs(dx) <= 0.4)
        }
    }

    /// Sample rate and length of the sounds.
    public static let audioRate = 16000, audioSamples = 8000

    /// The sound of one sample: a tone of 200·2^(colour/2) Hz, amplitude-modulated at 2·(shape + 1) Hz, its level by the
    /// size, plus noise seeded by (seed, split, index).
    public func sound(_ split: Split, index: Int) -> [Float] {
        let label = index % (Self.colours.count * Self.shapes.count)
        let colour = label / Self.shapes.count, shape = label % Self.shapes.count
        var rng = SplitMix64(mixing: seed, split == .train ? 0 : 1, UInt64(index), RandomStream.syntheticAudio.rawValue)
        let size = rng.below(Self.sizes.count)
        let pitch = 200 * pow(2, Double(colour) / 2), pulse = 2 * Double(shape + 1), level = 0.2 + 0.1 * Double(size)
        let phase = rng.uniform(0, 2 * Double.pi), rate = Double(Self.audioRate)
        return (0..<Self.audioSamples).map { n in
            let t = Double(n) / rate
            let envelope = 0.5 + 0.5 * sin(2 * Double.pi * pulse * t + phase)
            return Float(level * envelope * sin(2 * Double.pi * pitch * t)) + 0.02 * rng.nextNormal()
        }
    }

    /// A loader source over one split; with `audio`, samples have the `audio` field too.
    public func source(_ split: Split, audio: Bool = false) -> SyntheticShapesSource { SyntheticShapesSource(dataset: self, split: split, audio: audio) }
}

/// `SampleSource` over one split of `SyntheticShapes`; samples arrive already decoded.
public final class SyntheticShapesSource: SampleSource, @unchecked Sendable {
    public let dataset: SyntheticShapes
    public let split: SyntheticShapes.Split
    /// Whether samples carry their sound (rendered only when asked for: most consumers read images and captions).
    public let audio: Bool

    public init(dataset: SyntheticShapes, split: SyntheticShapes.Split, audio: Bool = false) {
        self.dataset = dataset
        self.split = split
        self.audio = audio
    }

    public var summary: String { "synthetic shapes (\(split.rawValue)): \(dataset.count(split)) samples, \(dataset.imageSize) px" }
    public var indexingSkipped: Int { 0 }
    public var fields: [SampleField] { [.image, .text, .label] + (audio ? [.audio] : []) }

    public func sampleCount() throws -> Int {
        let n = dataset.count(split)
        guard n > 0 else { throw DataPipelineError.invalidOption("synthetic \(split.rawValue) split is empty") }
        return n
    }

    public func makeOrder(seed: UInt64, epoch: Int, shuffle: Bool) throws -> SampleOrder {
        PermutedOrder(count: try sampleCount(), seed: seed, epoch: epoch, shuffle: shuffle)
    }

    public func load(id: Int) throws -> RawSample {
        let s = dataset.sample(split, index: id)
        var sample = RawSample(image: .decoded(s.image), caption: s.caption, label: s.label, key: "synthetic-\(split.rawValue)-\(id)")
        if audio { sample.values[SampleField.audio.name] = .bytes(WAVEncoder.pcm16(dataset.sound(split, index: id), sampleRate: SyntheticShapes.audioRate)) }
        return sample
    }
}
