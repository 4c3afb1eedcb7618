import TensorCore

/// A fully connected layer with PyTorch's layout: `weight` [out, in], `bias` [out], y = x Wᵀ + b.
public struct Linear {
    public let weight: Parameter
    public let bias: Parameter?

    /// Registers `weight` and `bias` under `builder`'s prefix with PyTorch's default initialisation
    /// unless `weightInit` is given.
    public init(_ builder: ParameterBuilder, inFeatures: Int, outFeatures: Int, bias hasBias: Bool = true,
                weightInit: Initializer? = nil, biasInit: Initializer? = nil) {
        weight = builder.parameter("weight", [outFeatures, inFeatures], weightInit ?? .pytorchDefault(fanIn: inFeatures))
        bias = hasBias ? builder.parameter("bias", [outFeatures], biasInit ?? .pytorchDefault(fanIn: inFeatures)) : nil
    }

    /// The weight, then the bias if any.
    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

    /// `x Wᵀ + b`, plus `residual` added in the same pass when given.
    public func callAsFunction(_ x: Tensor, adding residual: Tensor? = nil) -> Tensor {
        Tensor.linear(x, weight: weight.tensor, bias: bias?.tensor, adding: residual)
    }

    /// `self(prologue(x))` without keeping `prologue(x)`: backward recomputes it from x.
    public func callAsFunction(_ x: Tensor, after prologue: LinearPrologue, adding residual: Tensor? = nil) -> Tensor {
        Tensor.linear(x, prologue: prologue, weight: weight.tensor, bias: bias?.tensor, adding: residual)
    }
}

/// Layer normalisation over the last axis (`weight` = 1, `bias` = 0 initially).
public struct LayerNorm {
    public let weight: Parameter
    public let bias: Parameter
    public let epsilon: Float

    public init(_ builder: ParameterBuilder, width: Int, epsilon: Float = 1e-5) {
        weight = builder.parameter("weight", [width], .ones)
        bias = builder.parameter("bias", [width], .zeros)
        self.epsilon = epsilon
    }

    /// The weight, then the bias.
    public var parameters: [Parameter] { [weight, bias] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.layerNorm(weight: weight.tensor, bias: bias.tensor, epsilon: epsilon)
    }

    /// The layer norm as the prologue of the linear layer that reads it.
    public var prologue: LinearPrologue { .layerNorm(weight: weight.tensor, bias: bias.tensor, epsilon: epsilon) }
}
