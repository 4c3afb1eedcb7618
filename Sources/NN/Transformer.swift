import TensorCore

/// Multi-head self-attention as `torch.nn.MultiheadAttention`: packed `in_proj_weight` [3W, W]
/// (rows q | k | v), `in_proj_bias` [3W], and `out_proj` (a Linear W -> W).
public struct MultiheadSelfAttention {
    public let inProjWeight: Parameter
    public let inProjBias: Parameter
    public let outProj: Linear
    public let heads: Int

    public init(_ builder: ParameterBuilder, width: Int, heads: Int, inProjInit: Initializer? = nil, outProjInit: Initializer? = nil) {
        precondition(heads > 0 && width % heads == 0, "attention: width \(width) is not divisible by \(heads) heads")
        inProjWeight = builder.parameter("in_proj_weight", [3 * width, width], inProjInit ?? .xavierUniform(fanIn: width, fanOut: 3 * width))
        inProjBias = builder.parameter("in_proj_bias", [3 * width], .zeros)
        outProj = Linear(builder.scope("out_proj"), inFeatures: width, outFeatures: width, weightInit: outProjInit, biasInit: .zeros)
        self.heads = heads
    }

    /// Attention over `prologue(x)` (e.g. a layer norm, recomputed in backward instead of kept), or over x;
    /// `residual` is added by the output projection in the same pass. The attention output and probabilities are
    /// recomputed in backward, not kept.
    public func callAsFunction(_ x: Tensor, causal: Bool, prologue: LinearPrologue? = nil, adding residual: Tensor? = nil) -> Tensor {
        let qkv = packedQKV(x, prologue: prologue)
        return Tensor.attentionProjection(packedQKV: qkv, heads: heads, causal: causal, weight: outProj.weight.tensor,
                                          bias: outProj.bias?.tensor, adding: residual)
    }

    /// The packed q|k|v projection of `prologue(x)`, or of x.
    private func packedQKV(_ x: Tensor, prologue: LinearPrologue?) -> Tensor {
        project(x, prologue: prologue, weight: inProjWeight.tensor, bias: inProjBias.tensor)
    }

    /// `prologue(x) Wᵀ + b`, or `x Wᵀ + b`, for the in-projection or a band of its rows.
    private func project(_ x: Tensor, prologue: LinearPrologue?, weight: Tensor, bias: Tensor) -> Tensor {
        prologue.map { Tensor.linear(x, prologue: $0, weight: weight, bias: bias) } ?? Tensor.linear(x, weight: weight, bias: bias)
    }

    /// Attention over `prologue(x)` [B, T, W] projected and added to `residual` only at the rows `rows` of the
    /// flattened [B·T, W] positions: -> [rows.count, W].
    ///
    /// Keys and values still come from every position, but queries, attention and the output projection, which work
    /// row by row, run on the rows asked for only.
    public func callAsFunction(_ x: Tensor, causal: Bool, prologue: LinearPrologue? = nil, adding residual: Tensor,
                               keepingRows rows: [Int32]) -> Tensor {
        let width = x.shape[2], positions = x.shape[0] * x.shape[1]
        let weight = inProjWeight.tensor, bias = inProjBias.tensor
        let queries = project(x.reshaped([positions, width]).gatherRows(rows), prologue: prologue,
                              weight: weight.slice(axis: 0, 0..<width), bias: bias.slice(axis: 0, 0..<width))
        let keysValues = project(x, prologue: prologue, weight: weight.slice(axis: 0, width..<3 * width),
                                 bias: bias.slice(axis: 0, width..<3 * width))
        let attended = Tensor.attention(queries: queries, atRows: rows, keysValues: keysValues, heads: heads, causal: causal)
        return Tensor.linear(attended, weight: outProj.weight.tensor, bias: outProj.bias?.tensor,
                             adding: residual.reshaped([positions, width]).gatherRows(rows))
    }
}

/// OpenCLIP's `ResidualAttentionBlock`: pre-norm attention and GELU MLP, each added to the residual stream.
public struct ResidualAttentionBlock {
    public let ln1: LayerNorm
    public let attention: MultiheadSelfAttention
    public let ln2: LayerNorm
    public let fc: Linear
    public let proj: Linear
    public let activation: Activation

    public init(_ builder: ParameterBuilder, width: Int, heads: Int, mlpWidth: Int, activation: Activation = .gelu,
                initStds: TransformerInitStds? = nil) {
        self.activation = activation
        ln1 = LayerNorm(builder.scope("ln_1"), width: width)
        attention = MultiheadSelfAttention(builder.scope("attn"), width: width, heads: heads,
                                           inProjInit: initStds.map { .normal(std: $0.attention) },
                                           outProjInit: initStds.map { .normal(std: $0.projection) })
        ln2 = LayerNorm(builder.scope("ln_2"), width: width)
        fc = Linear(builder.scope("mlp.c_fc"), inFeatures: width, outFeatures: mlpWidth, weightInit: initStds.map { .normal(std: $0.fc) })
        proj = Linear(builder.scope("mlp.c_proj"), inFeatures: mlpWidth, outFeatures: width, weightInit: initStds.map { .normal(std: $0.projection) })
    }

    /// The first layer norm is fused into the q|k|v projection, the attention into its output projection, and the MLP
    /// (layer norm, c_fc, activation, c_proj) is one operation that works a chunk of rows at a time; backward recomputes
    /// the layer norms, the attention output and probabilities and the activation instead of keeping them (9 instead of
    /// 17 activation-sized tensors per block), and both residual additions happen inside the output projections.
    ///
    /// With `recomputingMLP`, the MLP's hidden layer is not kept either but recomputed in backward (one more `c_fc`
    /// product): the block keeps 5 instead of 9 activation-sized tensors.
    ///
    /// With `keepingRows`, the block returns only those rows of the flattened [B·T, W] output, [rows.count, W]:
    /// keys and values still come from every position, but the queries, attention, output projection and MLP run on
    /// those rows alone (a tower's last block, whose only rows read afterwards are the pooled ones).
    public func callAsFunction(_ x: Tensor, causal: Bool, recomputingMLP: Bool = false, keepingRows rows: [Int32]? = nil) -> Tensor {
        let h = rows.map { attention(x, causal: causal, prologue: ln1.prologue, adding: x, keepingRows: $0) }
            ?? attention(x, causal: causal, prologue: ln1.prologue, adding: x)
        return Tensor.mlp(h, layerNorm: ln2.prologue, fcWeight: fc.weight.tensor, fcBias: fc.bias?.tensor, activation: activation.prologue,
                          projectionWeight: proj.weight.tensor, projectionBias: proj.bias?.tensor, adding: h, recomputingHidden: recomputingMLP)
    }

    /// Every parameter of the block.
    public var parameters: [Parameter] {
        [ln1.weight, ln1.bias, attention.inProjWeight, attention.inProjBias, attention.outProj.weight]
            + [attention.outProj.bias, ln2.weight, ln2.bias, fc.weight, fc.bias, proj.weight, proj.bias].compactMap { $0 }
    }

    /// The block without keeping its activations: the forward pass runs without recording, and backward
    /// recomputes the block (with the tape on) to differentiate it. Same gradients, memory of one block.
    public func checkpointed(_ x: Tensor, causal: Bool, keepingRows rows: [Int32]? = nil) -> Tensor {
        let leaves = parameters.compactMap(\.leaf)
        guard Tape.shared.isRecording, x.isTracked || !leaves.isEmpty else { return self(x, causal: causal, keepingRows: rows) }
        let output = withoutGradients { self(x, causal: causal, keepingRows: rows) }
        let inputTracked = x.isTracked
        return Tensor.customOperation(name: "checkpointedBlock", inputs: [x] + leaves, output: output) { g in
            let tape = Tape.shared
            let mark = tape.mark()
            let input = tape.watch(x)
            let y = tape.recording { self(input, causal: causal, keepingRows: rows) }
            let grads = tape.backwardSegment(since: mark, seeds: [(y.variable, g)], wanted: [input.variable] + leaves.map(\.variable))
            return [inputTracked ? grads[0] : nil] + grads.dropFirst()
        }
    }
}

/// Standard deviations OpenCLIP's text transformer initialises its blocks with.
public struct TransformerInitStds {
    public let attention: Float, projection: Float, fc: Float
    public init(width: Int, layers: Int) {
        attention = 1 / Float(width).squareRoot()
        projection = attention / Float(2 * layers).squareRoot()
        fc = 1 / Float(2 * width).squareRoot()
    }
}

/// A stack of residual attention blocks (`resblocks.0`, `resblocks.1`, ...).
public struct Transformer {
    public let blocks: [ResidualAttentionBlock]
    /// How many blocks, from the first, are recomputed in backward instead of keeping their activations; all of
    /// them is OpenCLIP's --grad-checkpointing. Each one trades its activations for one more forward of the block.
    public var checkpointedBlocks = 0
    /// How many blocks, from the first, recompute their MLP's hidden layer in backward instead of keeping it (blocks
    /// already checkpointed recompute everything anyway). Each one trades 4 of its 9 kept tensors for one more product.
    public var mlpRecomputedBlocks = 0

    public init(_ builder: ParameterBuilder, width: Int, layers: Int, heads: Int, mlpWidth: Int, activation: Activation = .gelu,
                initStds: TransformerInitStds? = nil) {
        blocks = (0..<layers).map {
            ResidualAttentionBlock(builder.scope("resblocks.\($0)"), width: width, heads: heads, mlpWidth: mlpWidth,
                                   activation: activation, initStds: initStds)
        }
    }

    /// Runs the blocks on x [B, T, W]. With `keepingRows` (indices into the flattened [B·T] positions), returns only
    /// those rows of the output, [rows.count, W]: the last block computes only those rows' queries and what follows.
    public func callAsFunction(_ x: Tensor, causal: Bool, keepingRows rows: [Int32]? = nil) -> Tensor {
        var h = x
        for (index, block) in blocks.enumerated() {
            let kept = index == blocks.count - 1 ? rows : nil
            h = index < checkpointedBlocks ? block.checkpointed(h, causal: causal, keepingRows: kept)
                : block(h, causal: causal, recomputingMLP: index < mlpRecomputedBlocks, keepingRows: kept)
        }
        if let rows, blocks.isEmpty { return h.reshaped([h.shape[0] * h.shape[1], h.shape[2]]).gatherRows(rows) }
        return h
    }
}

/// The MLP non-linearity: exact GELU (OpenCLIP's default) or QuickGELU, x·σ(1.702x), of the original OpenAI models.
public enum Activation: Sendable {
    case gelu, quickGELU

    /// The activation as the prologue of the linear layer that reads it (blocks never keep its output).
    public var prologue: LinearPrologue {
        switch self {
        case .gelu: return .gelu
        case .quickGELU: return .quickGELU
        }
    }
}
