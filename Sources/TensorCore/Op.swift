/// Every differentiable operation, with what its backward rule needs saved from the forward pass.
///
/// The backward rules live in one place, `Gradient.backward`, one `case` per operation.
public enum Op {
    case add(lhsShape: [Int], rhsShape: [Int])
    case subtract(lhsShape: [Int], rhsShape: [Int])
    case multiply(lhs: Tensor, rhs: Tensor)
    case divide(lhs: Tensor, rhs: Tensor)
    case scale(Float)
    case addScalar
    case exp(output: Tensor)
    case log(input: Tensor)
    case sqrt(output: Tensor)
    case tanh(output: Tensor)
    case sigmoid(output: Tensor)
    case logSigmoid(input: Tensor)
    case relu(input: Tensor)
    case gelu(input: Tensor)
    case sum(inputShape: [Int], axis: Int?)
    case mean(inputShape: [Int], axis: Int?)
    case softmax(output: Tensor)
    case logSoftmax(output: Tensor)
    case layerNorm(input: Tensor, weight: Tensor, mean: Tensor, inverseStd: Tensor)
    case gatherRows(tableShape: [Int], indices: [Int32])
    case reshape(inputShape: [Int])
    case permute(inputShape: [Int], permutation: [Int])
    case slice(inputShape: [Int], axis: Int, start: Int)
    case concatenate(axis: Int, sizes: [Int])
    case expand(inputShape: [Int])
    case l2Normalize(output: Tensor, norms: Tensor)
    case crossEntropy(probabilities: Tensor, labels: [Int32])
    case matmul(a: Tensor, b: Tensor, transposeA: Bool, transposeB: Bool)
    /// x Wᵀ + b (+ a residual added in the same pass; its gradient is the output gradient).
    case linear(input: Tensor, weight: Tensor, hasBias: Bool, hasResidual: Bool)
    case fusedLinear(FusedLinearContext)
    /// Self- or cross-attention (see `AttentionContext.Layout`), optionally over padded keys.
    case attention(AttentionContext)
    /// Attention for some query positions only, keeping their probabilities.
    case rowAttention(RowAttentionContext)
    /// A transformer block's MLP that recomputes its hidden layer in backward.
    case fusedMLP(FusedMLPContext)
    /// Attention followed by its output projection (+ residual), keeping neither the attention output nor its probabilities.
    case attentionProjection(AttentionProjectionContext)
    case unfoldPatches(geometry: PatchGeometry)
    case avgPool2d(inputShape: [Int], kernel: Int, stride: Int)
    /// An operation defined outside TensorCore (e.g. a fused loss) with its own backward closure,
    /// which maps the output gradient to one optional gradient per input.
    case custom(name: String, backward: (Tensor) -> [Tensor?])

    /// The operation's name for error messages.
    public var name: String {
        if case .custom(let name, _) = self { return name }
        return String(describing: self).prefix { $0 != "(" }.description
    }
}
