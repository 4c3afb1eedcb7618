/// What the backward pass of `Tensor.mlp` keeps: the MLP's input, its layer norm's row statistics, the weights and,
/// unless it is recomputed, the hidden layer's pre-activation.
public struct FusedMLPContext {
    private(set) var input: SavedActivation
    let normWeight: Tensor, normBias: Tensor, mean: Tensor, inverseStd: Tensor
    let fcWeight: Tensor, fcBias: Tensor?
    let projectionWeight: Tensor
    let hasProjectionBias: Bool
    let activation: LinearPrologue
    /// Whether a residual was added to the output (its gradient is the output gradient).
    let hasResidual: Bool
    /// The pre-activation [rows, hidden], or nil when backward recomputes it.
    let preActivation: SavedActivation?

    var isQuickGELU: Bool { if case .quickGELU = activation { return true } else { return false } }
    var width: Int { fcWeight.shape[1] }
    var hidden: Int { fcWeight.shape[0] }
    var rows: Int { input.count / Swift.max(width, 1) }
    /// Row chunks the MLP works in: no activation-sized temporary is ever whole.
    var chunks: [Range<Int>] { FusedLinearGradient.chunkRanges(width: hidden, rows: rows) }

    /// This context as the tape keeps it (the input as the tape keeps activations).
    func kept() -> FusedMLPContext {
        var c = self
        c.input = input.kept()
        return c
    }

    /// The layer norm of the input rows `rows` (at `x`) into `normalized`; with `epsilon` (forward) it also stores the
    /// row statistics.
    func normalize(_ x: UnsafePointer<Float>, rows: Range<Int>, into normalized: UnsafeMutablePointer<Float>, epsilon: Float?) {
        if let epsilon {
            Kernels.layerNormForward(x, normWeight.pointer, normBias.pointer, normalized, mean.storage.pointer + rows.lowerBound,
                                     inverseStd.storage.pointer + rows.lowerBound, rows.count, width, epsilon)
        } else {
            Kernels.layerNormApply(x, normWeight.pointer, normBias.pointer, mean.pointer + rows.lowerBound,
                                   inverseStd.pointer + rows.lowerBound, normalized, rows.count, width)
        }
    }

    /// The pre-activation `normalized Wfcᵀ + bfc` of `count` rows into `h`.
    func fc(_ count: Int, normalized: UnsafePointer<Float>, into h: UnsafeMutablePointer<Float>) {
        let beta = Tensor.fillLinearOutput(h, rows: count, width: hidden, bias: fcBias, residual: nil)
        Tensor.linearAccumulate(normalized, rows: count, weight: fcWeight, beta: beta, into: h)
    }
}

extension Tensor {
    /// A transformer block's MLP, `proj(act(fc(layerNorm(x)))) + residual`, a chunk of rows at a time.
    ///
    /// Neither the layer norm's output nor the activation is kept, and backward runs every product per chunk, so the
    /// activation's gradient (4 widths per token) is never whole either. With `recomputingHidden`, the pre-activation
    /// is not kept but recomputed in backward too, one more `fc` product: the MLP then keeps only x.
    /// Same values and gradients as the two fused linear layers; tape inputs are x, the layer norm's weight and bias,
    /// the fc weight and bias, the projection weight and bias, and the residual.
    public static func mlp(_ x: Tensor, layerNorm: LinearPrologue, fcWeight: Tensor, fcBias: Tensor?, activation: LinearPrologue,
                           projectionWeight: Tensor, projectionBias: Tensor?, adding residual: Tensor? = nil,
                           recomputingHidden: Bool = false) -> Tensor {
        guard case .layerNorm(let normWeight, let normBias, let epsilon) = layerNorm else {
            preconditionFailure("mlp: the first prologue must be a layer norm")
        }
        if case .layerNorm = activation { preconditionFailure("mlp: the activation must be GELU or QuickGELU") }
        let width = x.shape.last ?? 0, rows = x.count / Swift.max(width, 1), hiddenWidth = fcWeight.shape[0]
        precondition(fcWeight.rank == 2 && fcWeight.shape[1] == width && projectionWeight.shape == [width, hiddenWidth]
                     && normWeight.shape == [width] && normBias.shape == [width],
                     "mlp: input \(x.shape), fc \(fcWeight.shape) and projection \(projectionWeight.shape) do not fit")
        let context = FusedMLPContext(input: SavedActivation(x), normWeight: normWeight, normBias: normBias,
                                      mean: Tensor(uninitializedShape: [rows]), inverseStd: Tensor(uninitializedShape: [rows]),
                                      fcWeight: fcWeight, fcBias: fcBias, projectionWeight: projectionWeight,
                                      hasProjectionBias: projectionBias != nil, activation: activation, hasResidual: residual != nil,
                                      preActivation: recomputingHidden ? nil : SavedActivation(uninitializedShape: [rows, hiddenWidth]))
        let out = linearOutput(rows: rows, leadingShape: Array(x.shape.dropLast()), weight: projectionWeight, bias: projectionBias,
                               adding: residual)
        let beta: Float = projectionBias == nil && residual == nil ? 0 : 1
        let chunks = context.chunks, largest = chunks.map(\.count).max() ?? 0
        let normalized = TensorStorage(capacity: largest * width), activations = TensorStorage(capacity: largest * hiddenWidth)
        // Kept in float32 the pre-activation is written in place; in bfloat16 (or not kept) it goes to a chunk scratch of
        // its own: the activation pass reads it and writes the activations, and a pass whose source and destination
        // are one buffer fails LLVM's overlap check and runs scalar.
        let keptInPlace = context.preActivation?.float32Pointer
        let preActivations = TensorStorage(capacity: keptInPlace == nil ? largest * hiddenWidth : 0)
        for rowRange in chunks {
            let a = activations.pointer, n = rowRange.count * hiddenWidth
            let h = keptInPlace.map { $0 + rowRange.lowerBound * hiddenWidth } ?? preActivations.pointer
            context.normalize(x.pointer + rowRange.lowerBound * width, rows: rowRange, into: normalized.pointer, epsilon: epsilon)
            context.fc(rowRange.count, normalized: normalized.pointer, into: h)
            context.preActivation?.store(rows: rowRange, from: h)
            activationPass(h, a, scaling: nil, n, quick: context.isQuickGELU)
            linearAccumulate(a, rows: rowRange, weight: projectionWeight, beta: beta, into: out)
        }
        let inputs = [x, normWeight, normBias, fcWeight] + (fcBias.map { [$0] } ?? []) + [projectionWeight]
            + (projectionBias.map { [$0] } ?? []) + (residual.map { [$0] } ?? [])
        return Tape.shared.record(.fusedMLP(context.kept()), inputs: inputs, output: out)
    }
}

enum FusedMLPGradient {
    /// Gradients in tape order. Per chunk of rows: the layer norm (and, when not kept, the pre-activation) is
    /// recomputed, the activation and its derivative come from one pass, and every product runs on the chunk.
    static func backward(_ c: FusedMLPContext, outputGradient g: Tensor, needs: [Bool]) -> [Tensor?] {
        let (width, hidden) = (c.width, c.hidden)
        // Tape order: x, norm weight, norm bias, fc weight, [fc bias], projection weight, [projection bias], [residual].
        let fcBiasIndex = c.fcBias == nil ? nil : 4, projectionIndex = c.fcBias == nil ? 4 : 5
        let wantsX = needs[0], wantsNorm = needs[1] || needs[2], wantsFc = needs[3] || fcBiasIndex.map { needs[$0] } == true
        let wantsProjection = needs[projectionIndex]
        // The pre-activation's gradient feeds everything before it; the normalized rows' gradient feeds x and the norm.
        let wantsHidden = wantsX || wantsNorm || wantsFc
        let dx = wantsX || wantsNorm ? Tensor(uninitializedShape: c.input.shape) : nil
        let dNormWeight = Tensor(shape: [width], repeating: 0), dNormBias = Tensor(shape: [width], repeating: 0)
        let dFcWeight = Tensor(uninitializedShape: c.fcWeight.shape), dFcBias = Tensor(shape: [hidden], repeating: 0)
        let dProjectionWeight = Tensor(uninitializedShape: c.projectionWeight.shape)
        let chunks = c.chunks, largest = chunks.map(\.count).max() ?? 0
        let normalized = TensorStorage(capacity: largest * width)
        let activations = TensorStorage(capacity: largest * hidden), dHidden = TensorStorage(capacity: largest * hidden)
        // Chunks of the kept input and pre-activation widened from bfloat16, or of the recomputed pre-activation (unused
        // when they are kept in float32); never the activations' buffer, which the activation pass writes.
        let inputRows = TensorStorage(capacity: c.input.isBFloat16 ? largest * width : 0)
        let hiddenRows = TensorStorage(capacity: c.preActivation?.isBFloat16 == false ? 0 : largest * hidden)
        for rowRange in chunks where wantsHidden || wantsProjection {
            let count = rowRange.count, first = rowRange.lowerBound, beta: Float = first == 0 ? 0 : 1
            let a = activations.pointer, dh = dHidden.pointer, s = normalized.pointer
            let gRows = g.pointer + first * width
            let x = c.input.rows(rowRange, scratch: inputRows.pointer)
            c.normalize(x, rows: rowRange, into: s, epsilon: nil)
            let h: UnsafePointer<Float>
            if let kept = c.preActivation {
                h = kept.rows(rowRange, scratch: hiddenRows.pointer)
            } else {
                c.fc(count, normalized: s, into: hiddenRows.pointer)
                h = UnsafePointer(hiddenRows.pointer)
            }
            // d(activation) = g Wp, then the activation and dh = d(activation) · act' in one pass.
            if wantsHidden {
                BLAS.gemm(transposeA: false, transposeB: false, m: count, n: hidden, k: width, a: gRows, lda: width,
                          b: c.projectionWeight.pointer, ldb: hidden, c: dh, ldc: hidden)
            }
            activationPass(h, a, scaling: wantsHidden ? dh : nil, count * hidden, quick: c.isQuickGELU)
            if wantsProjection {
                BLAS.gemm(transposeA: true, transposeB: false, m: width, n: hidden, k: count, a: gRows, lda: width, b: a, ldb: hidden,
                          beta: beta, c: dProjectionWeight.storage.pointer, ldc: hidden)
            }
            if wantsFc {
                BLAS.gemm(transposeA: true, transposeB: false, m: hidden, n: width, k: count, a: dh, lda: hidden, b: s, ldb: width,
                          beta: beta, c: dFcWeight.storage.pointer, ldc: width)
                Kernels.addRows(dh, rows: count, width: hidden, into: dFcBias.storage.pointer)
            }
            // d(normalized) = dh Wfc into dx's rows, then the layer norm's backward in place.
            if let dx {
                let dxRows = dx.storage.pointer + first * width
                BLAS.gemm(transposeA: false, transposeB: false, m: count, n: width, k: hidden, a: dh, lda: hidden,
                          b: c.fcWeight.pointer, ldb: width, c: dxRows, ldc: width)
                Kernels.layerNormBackward(dxRows, x, c.normWeight.pointer, c.mean.pointer + first,
                                          c.inverseStd.pointer + first, wantsX ? dxRows : nil, dNormWeight.storage.pointer,
                                          dNormBias.storage.pointer, count, width)
            }
        }
        var grads: [Tensor?] = [dx, dNormWeight, dNormBias, dFcWeight]
        if c.fcBias != nil { grads.append(dFcBias) }
        grads.append(dProjectionWeight)
        if c.hasProjectionBias { grads.append(needs[projectionIndex + 1] ? g.reduced(toShape: [width]) : nil) }
        if c.hasResidual { grads.append(g) }
        return zip(grads, needs).map { $1 ? $0 : nil }
    }
}
