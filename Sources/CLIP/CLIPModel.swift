import NN
import TensorCore

/// OpenCLIP's `CLIP`: a vision transformer and a text transformer projecting into one embedding space.
///
/// The towers are NN's reusable encoders; parameters are registered under OpenCLIP's state-dict keys in forward order
/// (the image tower under `visual`, the text tower at the root, then `logit_scale`), all in one `ParameterStore` allocation.
public final class CLIPModel {
    public let config: CLIPConfig
    public let parameters: ParameterStore
    /// The image tower (`visual.`).
    public private(set) var imageEncoder: VisionTransformerEncoder
    /// The text tower (keys at the root, as OpenCLIP's `CLIP` has them).
    public private(set) var textEncoder: TextTransformerEncoder

    /// Log-space temperature; the loss uses its exponential.
    public let logitScale: Parameter
    /// SigLIP's learnable bias, present when the config has `init_logit_bias`.
    public let logitBias: Parameter?
    /// CLIP-KD's projections of image and text embeddings onto a wider or narrower teacher's (`distill_projection_dim`):
    /// weights [teacher width, embed_dim], trained with the feature distillation loss, unused at inference.
    public let distillProjection: (image: Parameter, text: Parameter)?

    /// Builds the model with OpenCLIP's initialisation drawn from `seed`.
    public init(config: CLIPConfig, seed: UInt64 = 0) {
        self.config = config
        let store = ParameterStore()
        parameters = store
        let root = ParameterBuilder(store: store, seed: seed)
        let activation: Activation = config.quickGELU ? .quickGELU : .gelu
        imageEncoder = VisionTransformerEncoder(root.scope("visual"), config: config.vision, outputDim: config.embedDim, activation: activation)
        textEncoder = TextTransformerEncoder(root, config: config.text, outputDim: config.embedDim, activation: activation)
        logitScale = root.parameter("logit_scale", [], .zeros)
        logitBias = config.initLogitBias.map { _ in root.parameter("logit_bias", [], .zeros) }
        distillProjection = config.distillProjectionDim.map { width in
            let scope = root.scope("distill_projection"), initializer = Initializer.normal(std: 1 / Float(config.embedDim).squareRoot())
            return (scope.parameter("image", [width, config.embedDim], initializer), scope.parameter("text", [width, config.embedDim], initializer))
        }
        store.seal()
        logitScale.pointer.pointee = Float(config.initLogitScale)
        if let bias = config.initLogitBias { logitBias!.pointer.pointee = Float(bias) }
    }

    /// Image embeddings [B, embed_dim] of normalised images [B, 3, H, W] (L2-normalised when `normalize`); a
    /// `training` forward drops the patches `patchDropout` says.
    public func encodeImage(_ images: Tensor, normalize: Bool = true, training: Bool = false) -> Tensor {
        let features = imageEncoder.pooledFeatures(images, training: training)
        return normalize ? features.l2Normalized() : features
    }

    /// Text embeddings [B, embed_dim] of token rows `tokens` (B × context_length ids, row-major).
    ///
    /// Pools at `argmax(ids)` per row (the end-of-text token has the largest id), as OpenCLIP does.
    public func encodeText(_ tokens: [Int32], normalize: Bool = true) -> Tensor {
        let features = textEncoder.pooledFeatures(tokens)
        return normalize ? features.l2Normalized() : features
    }

    /// FLIP's patch dropout of the image tower in training forwards (`--force-patch-dropout`).
    public var patchDropout: PatchDropout {
        get { imageEncoder.patchDropout }
        set { imageEncoder.patchDropout = newValue }
    }

    /// Whether transformer blocks are recomputed in backward instead of keeping their activations (all of them).
    public var gradientCheckpointing: Bool {
        get { checkpointedBlocksPerTower > 0 }
        set { checkpointedBlocksPerTower = newValue ? Int.max : 0 }
    }

    /// How many blocks of each tower, from its first, are recomputed in backward (Int.max: all).
    public var checkpointedBlocksPerTower: Int {
        get { imageEncoder.transformer.checkpointedBlocks }
        set { imageEncoder.transformer.checkpointedBlocks = newValue; textEncoder.transformer.checkpointedBlocks = newValue }
    }

    /// How many blocks of each tower, from its first, recompute their MLP's hidden layer in backward (Int.max: all).
    public var mlpRecomputedBlocksPerTower: Int {
        get { imageEncoder.transformer.mlpRecomputedBlocks }
        set { imageEncoder.transformer.mlpRecomputedBlocks = newValue; textEncoder.transformer.mlpRecomputedBlocks = newValue }
    }

    /// Clamps `logit_scale` to [0, ln 100] as OpenCLIP's trainer does after every optimizer step.
    public func clampLogitScale() {
        logitScale.clampAsLogitScale()
    }
}
