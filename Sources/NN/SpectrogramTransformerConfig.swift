import Foundation

/// An audio tower over log-mel spectrograms (AST, ImageBind): an `audio_cfg` section of a model JSON, or a file that is
/// that section alone, with ImageBind's audio tower as defaults: 128 mel bins x 204 frames (2 s at 10 ms), 16x16
/// patches every 10 (overlapping: a 12 x 19 grid), width 768, 12 layers of 64-wide heads.
public struct SpectrogramTransformerConfig: Codable, Equatable, Sendable {
    public var melBins = 128
    public var frames = 204
    public var patchSize = 16
    public var patchStride = 10
    public var width = 768
    public var layers = 12
    public var headWidth = 64
    public var mlpRatio = 4.0

    public var heads: Int { width / headWidth }
    public var mlpWidth: Int { Int(Double(width) * mlpRatio) }
    /// Patches along the mel and time axes.
    public var gridHeight: Int { (melBins - patchSize) / patchStride + 1 }
    public var gridWidth: Int { (frames - patchSize) / patchStride + 1 }
    /// Patches plus the class token.
    public var tokens: Int { gridHeight * gridWidth + 1 }

    public init() {}

    public static let sectionKeys: Set<String> = ["mel_bins", "frames", "patch_size", "patch_stride", "width", "layers", "head_width", "mlp_ratio"]

    /// Reads `sectionKeys` from `section` (any other key is an error naming it) and checks the shapes fit.
    public init(section: ConfigSection) throws {
        self.init()
        try section.check(known: Self.sectionKeys)
        func positive(_ key: String, _ fallback: Int) throws -> Int {
            let value = try section.int(key, fallback)
            guard value > 0 else { throw ConfigError("\(section.path(key)) must be a positive integer") }
            return value
        }
        melBins = try positive("mel_bins", melBins)
        frames = try positive("frames", frames)
        patchSize = try positive("patch_size", patchSize)
        patchStride = try positive("patch_stride", patchStride)
        width = try positive("width", width)
        layers = try positive("layers", layers)
        headWidth = try positive("head_width", headWidth)
        mlpRatio = try section.double("mlp_ratio", mlpRatio)
        guard mlpRatio > 0 else { throw ConfigError("\(section.path("mlp_ratio")) must be a positive number") }
        guard width % headWidth == 0 else { throw ConfigError("\(section.path("width")) \(width) must divide by head_width \(headWidth)") }
        guard patchSize <= melBins, patchSize <= frames else {
            throw ConfigError("\(section.path("patch_size")) \(patchSize) is larger than the \(melBins) x \(frames) spectrogram")
        }
    }

    /// Reads `audio_cfg` (or the whole object) of the model JSON at `path`, and the model's `embed_dim` when present;
    /// unknown keys, non-positive sizes and shapes that do not fit are errors naming the file and the key.
    public static func load(path: String) throws -> (config: SpectrogramTransformerConfig, embedDim: Int?) {
        do {
            let document = try ConfigSection.document(path: path)
            guard document.contains("audio_cfg") else { return (try SpectrogramTransformerConfig(section: document), nil) }
            let embedDim = try document.optionalInt("embed_dim")
            guard (embedDim ?? 1) > 0 else { throw ConfigError("embed_dim must be a positive integer") }
            return (try SpectrogramTransformerConfig(section: try document.section("audio_cfg")), embedDim)
        } catch let error as ConfigError {
            throw ConfigError("\(path): \(error.description)")
        }
    }
}
