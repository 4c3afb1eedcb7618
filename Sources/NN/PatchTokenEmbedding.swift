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
    /// With `kept` (each image's token rows, class token first, as `PatchDropout.keptTokens` gives them), only those
    /// tokens, [B, K, W]: only the kept patches are embedded, each with its own position's embedding.
    func positioned(_ input: Tensor, keeping kept: [[Int]]? = nil, name: String) -> Tensor {
        precondition(input.rank == 4 && input.shape[1] == channels && input.shape[2] == height && input.shape[3] == width,
                     "\(name): input of shape \(input.shape), the model expects [B, \(channels), \(height), \(width)]")
        let batch = input.shape[0], patches = tokens - 1, patchLength = channels * patchSize * patchSize
        let keptTokens = kept?.first?.count ?? tokens
        var unfolded = Tensor.unfoldPatches(input, kernel: patchSize, stride: stride).reshaped([batch * patches, patchLength])
        if let kept {
            unfolded = unfolded.gatherRows(kept.enumerated().flatMap { b, rows in rows.dropFirst().map { Int32(b * patches + $0 - 1) } })
        }
        // conv1 is a linear layer over the unfolded patches, its weight [W, C, k, k] viewed as [W, C·k·k].
        let embedded = Tensor.linear(unfolded, weight: conv1.tensor.reshaped([modelWidth, patchLength]), bias: nil)
            .reshaped([batch, keptTokens - 1, modelWidth])
        let classToken = classEmbedding.tensor.reshaped([1, 1, modelWidth]).expanded(to: [batch, 1, modelWidth])
        let sequence = Tensor.concatenate([classToken, embedded], axis: 1)
        guard let kept else { return sequence + positionalEmbedding.tensor }
        return sequence + positionalEmbedding.tensor.gatherRows(kept.flatMap { $0.map(Int32.init) }).reshaped([batch, keptTokens, modelWidth])
    }
}
