import TensorCore

/// The token embedding of OpenCLIP's `VisionTransformer`, for any grid of patches: `conv1` (square patches of
/// `patchSize` every `stride`, overlapping when the stride is smaller, as AST and ImageBind's audio tower use),
/// `class_embedding`, `positional_embedding` and `ln_pre`, registered in that order under the builder's scope.
struct PatchTokenEmbedding {
    let channels: Int, height: Int, width: Int
    let patchSize: Int, stride: Int
    let modelWidth: Int
    let conv1: Parameter
    let classEmbedding: Parameter
    let positionalEmbedding: Parameter
    let lnPre: LayerNorm

    init(_ builder: ParameterBuilder, channels: Int, height: Int, width: Int, patchSize: Int, stride: Int, modelWidth: Int) {
        precondition(height >= patchSize && width >= patchSize && stride > 0, "patch embedding: \(height)x\(width) input, patch \(patchSize), stride \(stride)")
        (self.channels, self.height, self.width, self.patchSize, self.stride, self.modelWidth) = (channels, height, width, patchSize, stride, modelWidth)
        let scale = 1 / Float(modelWidth).squareRoot()
        conv1 = builder.parameter("conv1.weight", [modelWidth, channels, patchSize, patchSize],
                                  .pytorchDefault(fanIn: channels * patchSize * patchSize))
        classEmbedding = builder.parameter("class_embedding", [modelWidth], .normal(std: scale))
        positionalEmbedding = builder.parameter("positional_embedding", [Self.tokens(height: height, width: width, patchSize: patchSize, stride: stride), modelWidth],
                                                .normal(std: scale))
        lnPre = LayerNorm(builder.scope("ln_pre"), width: modelWidth)
    }

    /// Patches along each axis, and with the class token.
    static func grid(_ extent: Int, patchSize: Int, stride: Int) -> Int { (extent - patchSize) / stride + 1 }
    static func tokens(height: Int, width: Int, patchSize: Int, stride: Int) -> Int {
        grid(height, patchSize: patchSize, stride: stride) * grid(width, patchSize: patchSize, stride: stride) + 1
    }
    var tokens: Int { Self.tokens(height: height, width: width, patchSize: patchSize, stride: stride) }

    /// The class token and the patch embeddings (row by row) plus the positional embedding, [B, T, W], before `ln_pre`.
    func positioned(_ input: Tensor, name: String) -> Tensor {
        precondition(input.rank == 4 && input.shape[1] == channels && input.shape[2] == height && input.shape[3] == width,
                     "\(name): input of shape \(input.shape), the model expects [B, \(channels), \(height), \(width)]")
        let batch = input.shape[0]
        let patches = Tensor.conv2d(input, weight: conv1.tensor, stride: stride)              // [B, W, gh, gw]
            .reshaped([batch, modelWidth, tokens - 1]).permuted([0, 2, 1])                   // [B, gh·gw, W]
        let classToken = classEmbedding.tensor.reshaped([1, 1, modelWidth]).expanded(to: [batch, 1, modelWidth])
        return Tensor.concatenate([classToken, patches], axis: 1) + positionalEmbedding.tensor
    }
}
