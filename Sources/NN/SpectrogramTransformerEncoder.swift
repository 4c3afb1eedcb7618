import TensorCore

/// A ViT over log-mel spectrograms as AST and ImageBind build their audio towers: the spectrogram as a one-channel
/// image of `melBins` rows by `frames` columns, square patches every `patchStride` (overlapping when the stride is
/// smaller than the patch), a class token and learned positions, then the same transformer, `ln_post` and projection
/// as the image tower (parameters `conv1`, `class_embedding`, `positional_embedding`, `ln_pre`, `transformer`,
/// `ln_post`, `proj` under the builder's scope).
public struct SpectrogramTransformerEncoder {
    public let config: SpectrogramTransformerConfig
    let embedding: PatchTokenEmbedding
    var head: ProjectedTransformer

    public init(_ builder: ParameterBuilder, config: SpectrogramTransformerConfig, outputDim: Int, activation: Activation = .gelu) {
        self.config = config
        embedding = PatchTokenEmbedding(builder, channels: 1, height: config.melBins, width: config.frames,
                                        patchSize: config.patchSize, stride: config.patchStride, modelWidth: config.width)
        head = ProjectedTransformer(builder, width: config.width, layers: config.layers, heads: config.heads, mlpWidth: config.mlpWidth,
                                    activation: activation, initStds: nil, normName: "ln_post", projectionName: "proj", outputDim: outputDim)
    }

    /// The blocks; its `checkpointedBlocks` and `mlpRecomputedBlocks` are this tower's recomputation settings.
    public var transformer: Transformer {
        get { head.transformer }
        set { head.transformer = newValue }
    }

    /// Features [B, outputDim] of normalised spectrograms [B, 1, melBins, frames]: the class token after `ln_post`,
    /// projected.
    public func pooledFeatures(_ spectrograms: Tensor) -> Tensor {
        let tokens = embedding.lnPre(embedding.positioned(spectrograms, name: "audio encoder")), count = tokens.shape[1]
        return head.pooled(tokens, causal: false, rows: (0..<spectrograms.shape[0]).map { Int32($0 * count) })
    }

    /// Features [B, outputDim] of samples cut into `clipsPerSample` clips each, [B · clipsPerSample, 1, melBins, frames]
    /// (a sample's clips adjacent): the mean of each sample's clip features, as ImageBind averages a long recording's.
    public func pooledFeatures(_ clips: Tensor, clipsPerSample: Int) -> Tensor {
        precondition(clipsPerSample > 0 && clips.shape[0] % clipsPerSample == 0,
                     "audio encoder: \(clips.shape[0]) clips do not split into samples of \(clipsPerSample)")
        let features = pooledFeatures(clips)
        if clipsPerSample == 1 { return features }
        let samples = clips.shape[0] / clipsPerSample
        return features.reshaped([samples, clipsPerSample, features.shape[1]]).mean(axis: 1)
    }

    /// Every token [B, T, W] after `ln_post`, unprojected: the class token, then the patches row by row (mel-major).
    public func tokenFeatures(_ spectrograms: Tensor) -> Tensor {
        head.tokens(embedding.lnPre(embedding.positioned(spectrograms, name: "audio encoder")), causal: false)
    }
}
