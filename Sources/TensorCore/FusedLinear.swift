/// A cheap element-wise step in front of a linear layer that the backward pass recomputes instead of keeping.
///
/// A transformer block's layer norms and its MLP activation produce tensors that only the next linear layer reads
/// (for its weight gradient). Keeping them costs 6 of the block's 17 activation-sized tensors; recomputing them
/// from the tensor that is kept anyway (the layer norm's input, the activation's input) costs one element-wise
/// pass. PyTorch keeps them.
public enum LinearPrologue {
    /// Layer norm over the last axis with these affine parameters.
    case layerNorm(weight: Tensor, bias: Tensor, epsilon: Float)
    /// Exact GELU, x/2 · (1 + erf(x/√2)).
    case gelu
    /// QuickGELU of the original OpenAI models, x · σ(1.702x).
    case quickGELU
}

/// What the backward pass of `Tensor.linear(_:prologue:weight:bias:)` keeps.
public struct FusedLinearContext {
    /// The prologue's input (the layer norm's input or the activation's pre-activation).
    let input: Tensor
    let prologue: SavedPrologue
    let weight: Tensor
    let hasBias: Bool
    /// Whether a residual was added to the output (its gradient is the output gradient).
    let hasResidual: Bool

    enum SavedPrologue {
        case layerNorm(weight: Tensor, bias: Tensor, mean: Tensor, inverseStd: Tensor)
        case gelu, quickGELU
    }

    /// The prologue's output, recomputed from the saved input (and, for layer norm, its saved row statistics).
    func prologueOutput() -> Tensor {
        let out = Tensor(uninitializedShape: input.shape)
        switch prologue {
        case .layerNorm(let w, let b, let mean, let rstd):
            let width = w.count
            Kernels.layerNormApply(input.pointer, w.pointer, b.pointer, mean.pointer, rstd.pointer, out.storage.pointer,
                                   input.count / Swift.max(width, 1), width)
        case .gelu:
            mapElements(input.pointer, out.storage.pointer, input.count) { geluValue($0) }
        case .quickGELU:
            mapElements(input.pointer, out.storage.pointer, input.count) { quickGELUValue($0) }
        }
        return out
    }
}

extension Tensor {
    /// `prologue(x) Wᵀ + b` without keeping `prologue(x)`: the backward pass recomputes it from `x`.
    ///
    /// Same values and gradients as `linear(prologue(x), weight:bias:)`. Tape inputs are x, then the layer norm's
    /// weight and bias (layer norm only), then the linear weight and bias.
    /// A `residual` is added to the output in the same pass, as in `linear(_:weight:bias:adding:)`.
    public static func linear(_ x: Tensor, prologue: LinearPrologue, weight: Tensor, bias: Tensor?, adding residual: Tensor? = nil) -> Tensor {
        let saved: FusedLinearContext.SavedPrologue, prologueInputs: [Tensor]
        var normalized: Tensor?  // layer norm: computed together with the row statistics it saves
        switch prologue {
        case .layerNorm(let w, let b, let epsilon):
            let width = x.shape.last ?? 0, rows = x.count / Swift.max(width, 1)
            precondition(w.shape == [width] && b.shape == [width],
                         "linear: layer norm of input shape \(x.shape) with weight \(w.shape) and bias \(b.shape)")
            let mean = Tensor(uninitializedShape: [rows]), rstd = Tensor(uninitializedShape: [rows])
            let output = Tensor(uninitializedShape: x.shape)
            Kernels.layerNormForward(x.pointer, w.pointer, b.pointer, output.storage.pointer,
                                     mean.storage.pointer, rstd.storage.pointer, rows, width, epsilon)
            saved = .layerNorm(weight: w, bias: b, mean: mean, inverseStd: rstd)
            normalized = output
            prologueInputs = [w, b]
        case .gelu:
            saved = .gelu
            prologueInputs = []
        case .quickGELU:
            saved = .quickGELU
            prologueInputs = []
        }
        let context = FusedLinearContext(input: x, prologue: saved, weight: weight, hasBias: bias != nil, hasResidual: residual != nil)
        let out = linearProduct(normalized ?? context.prologueOutput(), weight: weight, bias: bias, adding: residual)
        let inputs = [x] + prologueInputs + [weight] + (bias.map { [$0] } ?? []) + (residual.map { [$0] } ?? [])
        return Tape.shared.record(.fusedLinear(context), inputs: inputs, output: out)
    }
}

enum FusedLinearGradient {
    static func backward(_ c: FusedLinearContext, outputGradient g: Tensor, needs: [Bool]) -> [Tensor?] {
        guard c.hasResidual else { return productBackward(c, g, needs) }
        return productBackward(c, g, Array(needs.dropLast())) + [needs.last! ? g : nil]
    }

    /// Gradients of x, the prologue's parameters, the weight and the bias.
    private static func productBackward(_ c: FusedLinearContext, _ g: Tensor, _ needs: [Bool]) -> [Tensor?] {
        switch c.prologue {
        case .layerNorm(let w, _, let mean, let rstd):
            let linearNeeds = needs.dropFirst(3)
            let linearGrads = MatmulGradient.linear(x: c.prologueOutput(), weight: c.weight, hasBias: c.hasBias, g: g,
                                                    needs: [needs.prefix(3).contains(true)] + linearNeeds)
            var dx: Tensor? = nil, dw: Tensor? = nil, db: Tensor? = nil
            if let dy = linearGrads[0] {
                let width = w.count, rows = c.input.count / Swift.max(width, 1)
                dx = needs[0] ? Tensor(uninitializedShape: c.input.shape) : nil
                dw = Tensor(shape: w.shape, repeating: 0)
                db = Tensor(shape: w.shape, repeating: 0)
                Kernels.layerNormBackward(dy.pointer, c.input.pointer, w.pointer, mean.pointer, rstd.pointer,
                                          dx?.storage.pointer, dw!.storage.pointer, db!.storage.pointer, rows, width)
            }
            return [dx, dw, db] + linearGrads.dropFirst()
        case .gelu, .quickGELU:
            return activationBackward(c, g, needs)
        }
    }

    /// The activation's input gradient comes first (it needs no activation values); then one pass over the
    /// pre-activation recomputes the activation for the weight gradient and scales the input gradient by its
    /// derivative, sharing the erf or exponential the two need.
    private static func activationBackward(_ c: FusedLinearContext, _ g: Tensor, _ needs: [Bool]) -> [Tensor?] {
        let linearNeeds = [false] + needs.dropFirst()
        guard needs[0] else {
            return [nil] + MatmulGradient.linear(x: c.prologueOutput(), weight: c.weight, hasBias: c.hasBias, g: g, needs: linearNeeds).dropFirst()
        }
        let dx = MatmulGradient.linearInputGradient(g, weight: c.weight, inputShape: c.input.shape)
        let activation = Tensor(uninitializedShape: c.input.shape)
        let x = c.input.pointer, a = activation.storage.pointer, d = dx.storage.pointer, n = c.input.count
        @inline(__always) func pass(_ f: (Float) -> (value: Float, derivative: Float)) {
            for i in 0..<n {
                let (value, derivative) = f(x[i])
                a[i] = value
                d[i] *= derivative
            }
        }
        if case .gelu = c.prologue { pass(geluValueAndDerivative) } else { pass(quickGELUValueAndDerivative) }
        let parameterGrads = MatmulGradient.linear(x: activation, weight: c.weight, hasBias: c.hasBias, g: g, needs: linearNeeds)
        return [dx] + parameterGrads.dropFirst()
    }
}
