import TensorCore

/// The second half of OpenCLIP's residual blocks, `x + mlp(ln_2(x))` (keys `ln_2`, `mlp.c_fc`, `mlp.c_proj`), shared by
/// the self-attention and the cross-attention block.
public struct ResidualMLP {
    public let ln2: LayerNorm
    public let fc: Linear
    public let proj: Linear
    public let activation: Activation

    /// Registers `ln_2`, `mlp.c_fc` and `mlp.c_proj` under the block's `builder`.
    public init(_ builder: ParameterBuilder, width: Int, mlpWidth: Int, activation: Activation, initStds: TransformerInitStds? = nil) {
        self.activation = activation
        ln2 = LayerNorm(builder.scope("ln_2"), width: width)
        fc = Linear(builder.scope("mlp.c_fc"), inFeatures: width, outFeatures: mlpWidth, weightInit: initStds.map { .normal(std: $0.fc) })
        proj = Linear(builder.scope("mlp.c_proj"), inFeatures: mlpWidth, outFeatures: width, weightInit: initStds.map { .normal(std: $0.projection) })
    }

    /// Every parameter, in registration order.
    public var parameters: [Parameter] { ln2.parameters + fc.parameters + proj.parameters }

    /// `x + c_proj(act(c_fc(ln_2(x))))` as one operation that works a chunk of rows at a time; with `recomputingHidden`
    /// the hidden layer is recomputed in backward instead of kept (one more `c_fc` product).
    public func callAsFunction(_ x: Tensor, recomputingHidden: Bool = false) -> Tensor {
        Tensor.mlp(x, layerNorm: ln2.prologue, fcWeight: fc.weight.tensor, fcBias: fc.bias?.tensor, activation: activation.prologue,
                   projectionWeight: proj.weight.tensor, projectionBias: proj.bias?.tensor, adding: x, recomputingHidden: recomputingHidden)
    }
}
