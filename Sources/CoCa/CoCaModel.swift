import NN
import TensorCore

/// OpenCLIP's `CoCa`: a text tower with an appended cls token (`text.`), an image tower with an attentional pooler
/// (`visual.`), the captioning decoder (`text_decoder.`) and the contrastive temperature (`logit_scale`), registered
/// in OpenCLIP's order under its state-dict keys, all in one `ParameterStore` allocation.
public final class CoCaModel {
    public let config: CoCaConfig
    public let parameters: ParameterStore
    public private(set) var textEncoder: TextTransformerEncoder
    public private(set) var imageEncoder: VisionTransformerEncoder
    public private(set) var decoder: MultimodalDecoder
    /// Log-space temperature of the contrastive loss.
    public let logitScale: Parameter

    /// Builds the model with OpenCLIP's initialisation drawn from `seed`.
    public init(config: CoCaConfig, seed: UInt64 = 0) {
        self.config = config
        let store = ParameterStore()
        parameters = store
        let root = ParameterBuilder(store: store, seed: seed)
        let activation: Activation = config.quickGELU ? .quickGELU : .gelu
        textEncoder = TextTransformerEncoder(root.scope("text"), config: config.text, outputDim: config.embedDim, activation: activation)
        imageEncoder = VisionTransformerEncoder(root.scope("visual"), config: config.vision, outputDim: config.embedDim, activation: activation)
        decoder = MultimodalDecoder(root.scope("text_decoder"), config: config.multimodal, vocabularySize: config.text.vocabSize,
                                    activation: activation)
        logitScale = root.parameter("logit_scale", [], .zeros)
        store.seal()
        logitScale.pointer.pointee = Float(config.initLogitScale)
    }

    /// What one forward pass of images and captions computes.
    public struct Outputs {
        /// Image and text latents [B, embed_dim], not yet L2-normalised (the contrastive loss's inputs once normalised).
        public let imageLatent: Tensor, textLatent: Tensor
        /// The pooler's other outputs [B, queries - 1, embed_dim]: what the decoder attends to.
        public let imageTokens: Tensor
        /// The text tower's outputs at positions 0 ..< L-1 [B, L-1, W]: the decoder's input (teacher forcing).
        public let textTokens: Tensor
        /// The decoder's features [B, L-1, W] after `ln_final`; position p predicts token p+1. From a forward
        /// `forCaptionLoss`, only the positions up to each row's last caption target are the decoder's (and `textTokens`
        /// only up to its first pad).
        public let decoderFeatures: Tensor
    }

    /// The forward pass on images [B, 3, H, W] and token rows of the text context length (B × L ids); a `training`
    /// forward drops the image patches `imageEncoder.patchDropout` says (the pooler attends to the kept tokens).
    ///
    /// `forCaptionLoss` computes the decoder's features exactly only where `captionLoss` reads them: each row's
    /// positions up to its last target that is not padding (`MultimodalDecoder.features(_:imageTokens:prefixLengths:)`),
    /// from text tokens exact up to the first pad (`attendedTokensOnly`). That leaves the losses and gradients as they
    /// are and skips the MLPs of both on the padding after a caption.
    public func forward(images: Tensor, tokens: [Int32], training: Bool = false, forCaptionLoss: Bool = false) -> Outputs {
        let length = config.text.contextLength
        let image = imageEncoder.attentionalPooledFeatures(images, training: training)
        let text = textEncoder.clsPooledAndTokenFeatures(tokens, length: length, attendedTokensOnly: forCaptionLoss)
        let textTokens = text.tokens.slice(axis: 1, 0..<(length - 1))
        return Outputs(imageLatent: image.pooled, textLatent: text.pooled, imageTokens: image.tokens, textTokens: textTokens,
                       decoderFeatures: decoder.features(textTokens, imageTokens: image.tokens,
                                                         prefixLengths: forCaptionLoss ? captionPrefixLengths(tokens) : nil))
    }

    /// The text tower's latents [B, embed_dim] of token rows alone (not normalised): what `forward` gives as
    /// `textLatent`, without the decoder (mined hard-negative captions are contrasted, never captioned).
    public func textLatents(_ tokens: [Int32]) -> Tensor {
        textEncoder.clsPooledAndTokenFeatures(tokens, length: config.text.contextLength, attendedTokensOnly: true).pooled
    }

    /// Per row, how many decoder positions lead up to its last caption target that is not padding (0 when all are).
    public func captionPrefixLengths(_ tokens: [Int32]) -> [Int] {
        let targets = config.text.contextLength - 1, pad = Int32(config.text.padId), labels = captionLabels(tokens)
        return stride(from: 0, to: labels.count, by: targets).map { start in
            (labels[start..<(start + targets)].lastIndex { $0 != pad }).map { $0 - start + 1 } ?? 0
        }
    }

    /// FLIP's patch dropout of the image tower in training forwards (`--force-patch-dropout`).
    public var patchDropout: PatchDropout {
        get { imageEncoder.patchDropout }
        set { imageEncoder.patchDropout = newValue }
    }

    /// The caption targets: each row's tokens shifted left by one (position p predicts token p+1; the start token is
    /// never a target, the end token is), L-1 per row.
    public func captionLabels(_ tokens: [Int32]) -> [Int32] {
        let length = config.text.contextLength
        return stride(from: 0, to: tokens.count, by: length).flatMap { tokens[($0 + 1)..<($0 + length)] }
    }

    /// The captioning cross-entropy of `outputs`: the mean over the targets that are not padding (OpenCLIP's
    /// `ignore_index = pad_id`), computed a chunk of logits at a time; nil when every target is padding.
    public func captionLoss(_ outputs: Outputs, tokens: [Int32], chunkElements: Int = 1 << 22) -> (loss: Tensor, targets: Int)? {
        let f = outputs.decoderFeatures
        return chunkedCrossEntropy(features: f.reshaped([f.shape[0] * f.shape[1], f.shape[2]]), projection: decoder.projection,
                                   labels: captionLabels(tokens), ignoredLabel: Int32(config.text.padId), chunkElements: chunkElements)
    }

    /// How many blocks of each tower (decoder layers: both blocks), from the first, are recomputed in backward.
    public func setCheckpointedBlocks(_ blocks: Int, mlpRecomputed mlpBlocks: Int) {
        imageEncoder.transformer.checkpointedBlocks = blocks
        textEncoder.transformer.checkpointedBlocks = blocks
        decoder.checkpointedLayers = blocks
        imageEncoder.transformer.mlpRecomputedBlocks = mlpBlocks
        textEncoder.transformer.mlpRecomputedBlocks = mlpBlocks
        decoder.mlpRecomputedLayers = mlpBlocks
    }

    /// Clamps `logit_scale` to [0, ln 100] as OpenCLIP's trainer does after every optimizer step.
    public func clampLogitScale() {
        logitScale.clampAsLogitScale()
    }
}
