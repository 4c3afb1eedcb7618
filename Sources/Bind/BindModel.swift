import Foundation
import NN
import TensorCore
import TrainingKit

/// A CLIP with a bound modality (ImageBind): CLIP's image tower (`visual.`) and text tower (at the root, with its
/// `logit_scale`) under OpenCLIP's keys, the new modality's encoder (`audio.`), projected to the same `embed_dim`, and
/// that modality's own log-space temperature `audio_logit_scale`.
public final class BindModel {
    public let config: BindModelConfig
    public let parameters = ParameterStore()
    public private(set) var imageEncoder: VisionTransformerEncoder
    public let textEncoder: TextTransformerEncoder
    /// The CLIP's temperature (image-text), used only for the emergent text metrics' validation loss.
    public let logitScale: Parameter
    public var audioEncoder: SpectrogramTransformerEncoder
    /// The bound modality's temperature against images (log space).
    public let audioLogitScale: Parameter

    /// The towers with random values drawn from `seed` (a bind run then loads the CLIP's into the first two), the
    /// bound modality's temperature at `initialScale` (exp space).
    public init(config: BindModelConfig, seed: UInt64 = 0, initialScale: Double = 1 / 0.07) {
        self.config = config
        let root = ParameterBuilder(store: parameters, seed: seed)
        let activation: Activation = config.quickGELU ? .quickGELU : .gelu
        imageEncoder = VisionTransformerEncoder(root.scope("visual"), config: config.vision, outputDim: config.embedDim, activation: activation)
        textEncoder = TextTransformerEncoder(root, config: config.text, outputDim: config.embedDim, activation: activation)
        logitScale = root.parameter("logit_scale", [], .zeros)
        audioEncoder = SpectrogramTransformerEncoder(root.scope("audio"), config: config.audio, outputDim: config.embedDim)
        audioLogitScale = root.parameter("audio_logit_scale", [], .zeros)
        parameters.seal()
        logitScale.pointer.pointee = Float(Foundation.log(1 / 0.07))
        audioLogitScale.pointer.pointee = Float(Foundation.log(initialScale))
    }

    /// L2-normalised image embeddings [B, embed_dim] of normalised images [B, 3, H, W].
    public func encodeImage(_ images: Tensor) -> Tensor { imageEncoder.pooledFeatures(images).l2Normalized() }

    /// L2-normalised text embeddings [B, embed_dim] of token rows (pooled at the end-of-text token, as CLIP's).
    public func encodeText(_ tokens: [Int32]) -> Tensor { textEncoder.pooledFeatures(tokens).l2Normalized() }

    /// L2-normalised audio embeddings [B, embed_dim] of spectrogram clips [B · clipsPerSample, 1, melBins, frames]
    /// (a sample's clips adjacent), each sample's clip features averaged first, as ImageBind does.
    public func encodeAudio(_ clips: Tensor, clipsPerSample: Int = 1) -> Tensor {
        audioEncoder.pooledFeatures(clips, clipsPerSample: clipsPerSample).l2Normalized()
    }

    /// Key prefixes of the CLIP text tower and its temperature, which a bind run never trains.
    public static let textPrefixes = OpenCLIPTowerKeys.clipTextRoots + ["logit_scale"]

    /// How many blocks of each trained tower recompute activations in backward.
    public func setCheckpointedBlocks(_ blocks: Int, mlpRecomputed: Int) {
        audioEncoder.transformer.checkpointedBlocks = blocks
        audioEncoder.transformer.mlpRecomputedBlocks = mlpRecomputed
        imageEncoder.transformer.checkpointedBlocks = blocks
        imageEncoder.transformer.mlpRecomputedBlocks = mlpRecomputed
    }
}
