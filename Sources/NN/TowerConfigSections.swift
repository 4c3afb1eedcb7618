/// How every family reads and checks the towers of an OpenCLIP model config, so a key means the same everywhere.
extension VisionTransformerConfig {
    /// The `vision_cfg` keys of a class-token ViT; a family that implements more (CoCa's pooler) reads those itself.
    public static let sectionKeys: Set<String> = ["image_size", "patch_size", "width", "layers", "head_width", "mlp_ratio"]

    /// Reads `sectionKeys` from `section`, OpenCLIP's defaults for the ones left out, and checks the sizes fit.
    public init(section: ConfigSection) throws {
        self.init()
        imageSize = try section.int("image_size", imageSize)
        patchSize = try section.int("patch_size", patchSize)
        width = try section.int("width", width)
        layers = try section.int("layers", layers)
        headWidth = try section.int("head_width", headWidth)
        mlpRatio = try section.double("mlp_ratio", mlpRatio)
        try validate(section: section.name)
    }

    /// Sizes that do not fit are an error naming the section's keys.
    public func validate(section name: String = "vision_cfg") throws {
        let name = name.isEmpty ? "" : name + "."
        guard imageSize > 0, patchSize > 0, imageSize % patchSize == 0 else {
            throw ConfigError("\(name)image_size \(imageSize) is not a positive multiple of patch_size \(patchSize)")
        }
        guard width > 0, headWidth > 0, width % headWidth == 0 else {
            throw ConfigError("\(name)width \(width) is not a positive multiple of head_width \(headWidth)")
        }
        guard layers >= 0, mlpRatio > 0 else { throw ConfigError("\(name)layers must not be negative and \(name)mlp_ratio must be positive") }
    }
}

extension TextTransformerConfig {
    /// The `text_cfg` keys of a causal text tower; CoCa's `embed_cls` and `pad_id` are read by CoCa.
    public static let sectionKeys: Set<String> = ["context_length", "vocab_size", "width", "heads", "layers", "mlp_ratio"]

    /// Reads `sectionKeys` from `section`, OpenCLIP's defaults for the ones left out, and checks the sizes fit.
    public init(section: ConfigSection) throws {
        self.init()
        contextLength = try section.int("context_length", contextLength)
        vocabSize = try section.int("vocab_size", vocabSize)
        width = try section.int("width", width)
        heads = try section.int("heads", heads)
        layers = try section.int("layers", layers)
        mlpRatio = try section.double("mlp_ratio", mlpRatio)
        try validate(section: section.name)
    }

    /// Sizes that do not fit are an error naming the section's keys.
    public func validate(section name: String = "text_cfg") throws {
        let name = name.isEmpty ? "" : name + "."
        guard width > 0, heads > 0, width % heads == 0 else { throw ConfigError("\(name)width \(width) is not a positive multiple of heads \(heads)") }
        guard contextLength > 0, vocabSize > 0 else { throw ConfigError("\(name)context_length and vocab_size must be positive") }
        guard layers >= 0, mlpRatio > 0 else { throw ConfigError("\(name)layers must not be negative and \(name)mlp_ratio must be positive") }
    }
}
