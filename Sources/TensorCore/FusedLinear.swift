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
    let input: SavedActivation
    let prologue: SavedPrologue
    let weight: Tensor
    let hasBias: Bool
    /// Whether a residual was added to the output (its gradient is the output gradient).
    let hasResidual: Bool

    enum SavedPrologue {
        case layerNorm(weight: Tensor, bias: Tensor, mean: Tensor, inverseStd: Tensor)
        case gelu, quickGELU

        var isQuickGELU: Bool { if case .quickGELU = self { return true } else { return false } }
    }
}

extension Tensor {
    /// `prologue(x) Wᵀ + b` without keeping `prologue(x)`: the backward pass recomputes it from `x`.
    ///
    /// Same values and gradients as `linear(prologue(x), weight:bias:)`. Tape inputs are x, then the layer norm's
    /// weight and bias (layer norm only), then the linear weight and bias.
    /// A `residual` is added to the output in the same pass, as in `linear(_:weight:bias:adding:)`.
    public static func linear(_ x: Tensor, prologue: LinearPrologue, weight: Tensor, bias: Tensor?, adding residual: Tensor? = nil) -> Tensor {
        let width = x.shape.last ?? 0, rows = x.count / Swift.max(width, 1)
        precondition(weight.rank == 2 && weight.shape[1] == width, "linear: input shape \(x.shape) does not fit weight \(weight.shape)")
        if let bias { precondition(bias.shape == [weight.shape[0]], "linear: bias shape \(bias.shape) vs weight \(weight.shape)") }
        let saved: FusedLinearContext.SavedPrologue, prologueInputs: [Tensor]
        var epsilon: Float = 0
        switch prologue {
        case .layerNorm(let w, let b, let layerNormEpsilon):
            epsilon = layerNormEpsilon
            precondition(w.shape == [width] && b.shape == [width],
                         "linear: layer norm of input shape \(x.shape) with weight \(w.shape) and bias \(b.shape)")
            saved = .layerNorm(weight: w, bias: b, mean: Tensor(uninitializedShape: [rows]), inverseStd: Tensor(uninitializedShape: [rows]))
            prologueInputs = [w, b]
        case .gelu:
            saved = .gelu
            prologueInputs = []
        case .quickGELU:
            saved = .quickGELU
            prologueInputs = []
        }
        // The prologue runs a chunk of rows at a time, each chunk's product right after it: its output is never whole.
        let out = linearOutput(rows: rows, leadingShape: Array(x.shape.dropLast()), weight: weight, bias: bias, adding: residual)
        let beta: Float = bias == nil && residual == nil ? 0 : 1
        let scratch = TensorStorage(capacity: FusedLinearGradient.chunkRows(width: width, rows: rows) * width)
        for chunk in FusedLinearGradient.chunkRanges(width: width, rows: rows) {
            let start = chunk.lowerBound, count = chunk.count
            let source = x.pointer + start * width, a = scratch.pointer
            switch saved {
            case .layerNorm(let w, let b, let mean, let rstd):
                Kernels.layerNormForward(source, w.pointer, b.pointer, a, mean.storage.pointer + start, rstd.storage.pointer + start,
                                         count, width, epsilon)
            case .gelu, .quickGELU:
                activationPass(source, a, scaling: nil, count * width, quick: saved.isQuickGELU)
            }
            linearAccumulate(a, rows: chunk, weight: weight, beta: beta, into: out)
        }
        let inputs = [x] + prologueInputs + [weight] + (bias.map { [$0] } ?? []) + (residual.map { [$0] } ?? [])
        return Tape.shared.record(.fusedLinear(FusedLinearContext(input: SavedActivation(x).kept(), prologue: saved, weight: weight,
                                                                  hasBias: bias != nil, hasResidual: residual != nil)),
                                  inputs: inputs, output: out)
    }
}

enum FusedLinearGradient {
    static func backward(_ c: FusedLinearContext, outputGradient g: Tensor, needs: [Bool]) -> [Tensor?] {
        guard c.hasResidual else { return productBackward(c, g, needs) }
        return productBackward(c, g, Array(needs.dropLast())) + [needs.last! ? g : nil]
    }

    /// Gradients of x, the prologue's parameters, the weight and the bias.
    ///
    /// The prologue's output is recomputed a chunk of rows at a time for the weight gradient, never whole:
    /// a whole copy would be the largest temporary of the backward pass (4 activation widths for the MLP).
    private static func productBackward(_ c: FusedLinearContext, _ g: Tensor, _ needs: [Bool]) -> [Tensor?] {
        let isLayerNorm: Bool
        if case .layerNorm = c.prologue { isLayerNorm = true } else { isLayerNorm = false }
        let prologueParameters = isLayerNorm ? 2 : 0
        let wantsInput = needs.prefix(1 + prologueParameters).contains(true)
        let weightIndex = 1 + prologueParameters
        let input = c.input.float32
        let outF = c.weight.shape[0], inF = c.weight.shape[1], rows = input.count / Swift.max(inF, 1)
        // The input gradient needs no prologue values, so it comes first; the chunk pass then applies the
        // activation's derivative to it while the activation's values are at hand.
        let dy = wantsInput ? MatmulGradient.linearInputGradient(g, weight: c.weight, inputShape: input.shape) : nil
        let dw = needs[weightIndex] ? Tensor(uninitializedShape: c.weight.shape) : nil
        if dw != nil || (dy != nil && !isLayerNorm) {
            let scratch = TensorStorage(capacity: chunkRows(width: inF, rows: rows) * inF)
            for chunk in chunkRanges(width: inF, rows: rows) {
                let start = chunk.lowerBound, count = chunk.count
                let x = input.pointer + start * inF, a = scratch.pointer
                switch c.prologue {
                case .layerNorm(let w, let b, let mean, let rstd):
                    Kernels.layerNormApply(x, w.pointer, b.pointer, mean.pointer + start, rstd.pointer + start, a, count, inF)
                case .gelu, .quickGELU:
                    activationPass(x, a, scaling: dy.map { $0.storage.pointer + start * inF }, count * inF, quick: c.prologue.isQuickGELU)
                }
                if let dw {
                    BLAS.gemm(transposeA: true, transposeB: false, m: outF, n: inF, k: count,
                              a: g.pointer + start * outF, lda: outF, b: a, ldb: inF,
                              beta: start == 0 ? 0 : 1, c: dw.storage.pointer, ldc: inF)
                }
            }
        }
        let db = c.hasBias && needs[weightIndex + 1] ? g.reduced(toShape: [outF]) : nil
        let linearGrads: [Tensor?] = c.hasBias ? [dw, db] : [dw]
        guard case .layerNorm(let w, _, let mean, let rstd) = c.prologue else { return [dy] + linearGrads }
        guard let dy else { return [nil, nil, nil] + linearGrads }
        let dweight = Tensor(shape: [inF], repeating: 0), dbias = Tensor(shape: [inF], repeating: 0)
        // In place: each row's dx overwrites its dy once the row's sums are taken.
        Kernels.layerNormBackward(dy.pointer, input.pointer, w.pointer, mean.pointer, rstd.pointer,
                                  needs[0] ? dy.storage.pointer : nil, dweight.storage.pointer, dbias.storage.pointer, rows, inF)
        return [needs[0] ? dy : nil, dweight, dbias] + linearGrads
    }

    /// Rows per recomputed chunk: about 1.5 M values (6 MB), in whole blocks of OpenBLAS's depth blocking
    /// (a few hundred) so splitting the weight-gradient product costs no extra passes over it.
    static func chunkRows(width: Int, rows: Int) -> Int {
        let block = 384
        let target = Swift.max(block, (3 << 19) / Swift.max(width, 1) / block * block)
        return Swift.min(target, Swift.max(rows, 1))
    }

    /// `rows` rows as consecutive ranges of `chunkRows(width:rows:)`.
    static func chunkRanges(width: Int, rows: Int) -> [Range<Int>] {
        let size = chunkRows(width: width, rows: rows)
        return stride(from: 0, to: rows, by: size).map { $0..<Swift.min($0 + size, rows) }
    }
}
