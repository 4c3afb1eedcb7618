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

    static let keys = ["mel_bins", "frames", "patch_size", "patch_stride", "width", "layers", "head_width", "mlp_ratio"]

    /// Reads `audio_cfg` (or the whole object) of the model JSON at `path`, and the model's `embed_dim` when present;
    /// unknown keys, non-positive sizes and shapes that do not fit are errors naming the file and the key.
    public static func load(path: String) throws -> (config: SpectrogramTransformerConfig, embedDim: Int?) {
        guard let data = FileManager.default.contents(atPath: path) else { throw ConfigError("\(path): cannot read the model config") }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ConfigError("\(path): not a JSON object")
        }
        let section = json["audio_cfg"] as? [String: Any] ?? json
        let name = json["audio_cfg"] == nil ? path : "\(path): audio_cfg"
        if let unknown = section.keys.sorted().first(where: { !keys.contains($0) }) {
            throw ConfigError("\(name): unknown key \(unknown) (known: \(keys.joined(separator: ", ")))")
        }
        func integer(_ key: String, _ fallback: Int) throws -> Int {
            guard let value = section[key] else { return fallback }
            guard let number = value as? Int, number > 0 else { throw ConfigError("\(name): \(key) must be a positive integer") }
            return number
        }
        var config = SpectrogramTransformerConfig()
        config.melBins = try integer("mel_bins", config.melBins)
        config.frames = try integer("frames", config.frames)
        config.patchSize = try integer("patch_size", config.patchSize)
        config.patchStride = try integer("patch_stride", config.patchStride)
        config.width = try integer("width", config.width)
        config.layers = try integer("layers", config.layers)
        config.headWidth = try integer("head_width", config.headWidth)
        if let ratio = section["mlp_ratio"] {
            guard let value = ratio as? Double, value > 0 else { throw ConfigError("\(name): mlp_ratio must be a positive number") }
            config.mlpRatio = value
        }
        guard config.width % config.headWidth == 0 else { throw ConfigError("\(name): width \(config.width) must divide by head_width \(config.headWidth)") }
        guard config.patchSize <= config.melBins, config.patchSize <= config.frames else {
            throw ConfigError("\(name): patch_size \(config.patchSize) is larger than the \(config.melBins) x \(config.frames) spectrogram")
        }
        var embedDim: Int?
        if json["audio_cfg"] != nil, let value = json["embed_dim"] {
            guard let dim = value as? Int, dim > 0 else { throw ConfigError("\(path): embed_dim must be a positive integer") }
            embedDim = dim
        }
        return (config, embedDim)
    }
}
