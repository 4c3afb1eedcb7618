import TensorCore

/// OpenCLIP's `ResidualAttentionBlock`: pre-norm attention and GELU MLP, each added to the residual stream.
///
/// With `isCrossAttention` it also has `ln_1_kv` (registered after `attn`, as OpenCLIP does) and attends to another
/// sequence (`callAsFunction(_:attendingTo:validKeyCounts:recomputingMLP:)`).
public struct ResidualAttentionBlock {
    public let ln1: LayerNorm
    public let attention: MultiheadAttention
    /// The layer norm of the attended sequence; cross-attention blocks only.
    public let ln1KeysValues: LayerNorm?
    public let mlp: ResidualMLP

    public init(_ builder: ParameterBuilder, width: Int, heads: Int, mlpWidth: Int, activation: Activation = .gelu,
                initStds: TransformerInitStds? = nil, isCrossAttention: Bool = false) {
        ln1 = LayerNorm(builder.scope("ln_1"), width: width)
        attention = MultiheadAttention(builder.scope("attn"), width: width, heads: heads, initStds: initStds)
        ln1KeysValues = isCrossAttention ? LayerNorm(builder.scope("ln_1_kv"), width: width) : nil
        mlp = ResidualMLP(builder, width: width, mlpWidth: mlpWidth, activation: activation, initStds: initStds)
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
    ///
    /// With `validKeyCounts`, batch row b attends to its first `validKeyCounts[b]` positions only (not with `keepingRows`).
    /// With `mlpRows`, the MLP runs on those rows of the flattened positions only and the others keep the attention's
    /// output (`ResidualMLP.callAsFunction(_:recomputingHidden:onlyRows:)`).
    public func callAsFunction(_ x: Tensor, causal: Bool, validKeyCounts: [Int]? = nil, recomputingMLP: Bool = false,
                               keepingRows rows: [Int32]? = nil, mlpRows: [Int32]? = nil) -> Tensor {
        precondition(rows == nil || validKeyCounts == nil, "residual attention block: kept rows with a key mask are not supported")
        precondition(rows == nil || mlpRows == nil, "residual attention block: kept rows and MLP rows together are not supported")
        let h = rows.map { attention(x, causal: causal, prologue: ln1.prologue, adding: x, keepingRows: $0) }
            ?? attention(x, causal: causal, validKeyCounts: validKeyCounts, prologue: ln1.prologue, adding: x)
        return mlp(h, recomputingHidden: recomputingMLP, onlyRows: mlpRows)
    }

    /// Every parameter of the block, in registration order.
    public var parameters: [Parameter] { ln1.parameters + attention.parameters + (ln1KeysValues?.parameters ?? []) + mlp.parameters }

    /// The block without keeping its activations: the forward pass runs without recording, and backward
    /// recomputes the block (with the tape on) to differentiate it. Same gradients, memory of one block.
    public func checkpointed(_ x: Tensor, causal: Bool, validKeyCounts: [Int]? = nil, keepingRows rows: [Int32]? = nil,
                             mlpRows: [Int32]? = nil) -> Tensor {
        recomputedInBackward([x], parameters: parameters, name: "checkpointedBlock") {
            self($0[0], causal: causal, validKeyCounts: validKeyCounts, keepingRows: rows, mlpRows: mlpRows)
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
    /// With `validKeyCounts`, batch row b attends to its first `validKeyCounts[b]` positions only. With `mlpRows`, the
    /// blocks run their MLPs on those flattened positions only (the last block, when it keeps rows, computes those rows
    /// alone anyway).
    public func callAsFunction(_ x: Tensor, causal: Bool, validKeyCounts: [Int]? = nil, keepingRows rows: [Int32]? = nil,
                               mlpRows: [Int32]? = nil) -> Tensor {
        var h = x
        for (index, block) in blocks.enumerated() {
            let kept = index == blocks.count - 1 ? rows : nil
            let blockMLPRows = kept == nil ? mlpRows : nil
            h = index < checkpointedBlocks
                ? block.checkpointed(h, causal: causal, validKeyCounts: validKeyCounts, keepingRows: kept, mlpRows: blockMLPRows)
                : block(h, causal: causal, validKeyCounts: validKeyCounts, recomputingMLP: index < mlpRecomputedBlocks, keepingRows: kept,
                        mlpRows: blockMLPRows)
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
