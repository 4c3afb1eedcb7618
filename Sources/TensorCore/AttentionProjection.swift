/// What the backward pass of `Tensor.attentionProjection` keeps: the attention's inputs and softmax row statistics,
/// and the projection's weight; neither the attention output nor its probabilities.
public struct AttentionProjectionContext {
    private(set) var attention: AttentionContext
    let weight: Tensor
    let hasBias: Bool
    /// Whether a residual was added to the output (its gradient is the output gradient).
    let hasResidual: Bool

    /// This context as the tape keeps it (see `AttentionContext.keptForBackward`).
    func keptForBackward() -> AttentionProjectionContext {
        var c = self
        c.attention = attention.keptForBackward()
        return c
    }

    /// This context with float32 attention inputs again.
    func restored() -> AttentionProjectionContext {
        var c = self
        c.attention = attention.restored()
        return c
    }

    /// Batches per chunk of recomputed attention output (about as many rows as a fused linear layer's chunk).
    var batchesPerChunk: Int {
        max(1, FusedLinearGradient.chunkRows(width: attention.width, rows: attention.batch * attention.queryLength) / max(attention.queryLength, 1))
    }

    /// The batch ranges the output is computed in, one chunk at a time.
    var chunks: [Range<Int>] {
        stride(from: 0, to: attention.batch, by: batchesPerChunk).map { $0..<min($0 + batchesPerChunk, attention.batch) }
    }
}

extension Tensor {
    /// Multi-head attention on a packed q|k|v projection followed by the output projection, `attention Wᵀ + b`
    /// (+ `residual`, added in the same pass), without keeping the attention output or probabilities.
    ///
    /// A transformer block would otherwise keep both for backward (two activation-sized tensors); here backward
    /// recomputes them per head from q|k|v and each softmax row's statistics, one more q kᵀ and p v product per head.
    /// Same values and gradients as `linear(attention(packedQKV:heads:causal:), weight:bias:adding:)`; tape inputs are
    /// qkv, the weight, the bias and the residual.
    ///
    /// With `validKeyCounts`, batch row b's queries attend to its first `validKeyCounts[b]` positions only (and, when
    /// `causal`, to none after their own): a padded text whose padding must not be attended to (CoCa's text tower).
    public static func attentionProjection(packedQKV qkv: Tensor, heads: Int, causal: Bool, validKeyCounts: [Int]? = nil,
                                           weight: Tensor, bias: Tensor?, adding residual: Tensor? = nil) -> Tensor {
        attentionProjection(AttentionContext(packedQKV: qkv, heads: heads, causal: causal, validKeyCounts: validKeyCounts),
                            weight: weight, bias: bias, adding: residual)
    }

    /// The attention `attention` describes, projected (+ residual), one chunk of batches at a time.
    static func attentionProjection(_ attention: AttentionContext, weight: Tensor, bias: Tensor?, adding residual: Tensor?) -> Tensor {
        let (tq, width) = (attention.queryLength, attention.width)
        precondition(weight.rank == 2 && weight.shape[1] == width, "attention projection: weight \(weight.shape) does not take width \(width)")
        if let bias { precondition(bias.shape == [weight.shape[0]], "attention projection: bias shape \(bias.shape) vs weight \(weight.shape)") }
        let context = AttentionProjectionContext(attention: attention, weight: weight, hasBias: bias != nil, hasResidual: residual != nil)
        let out = linearOutput(rows: attention.batch * tq, leadingShape: [attention.batch, tq], weight: weight, bias: bias, adding: residual)
        let beta: Float = bias == nil && residual == nil ? 0 : 1
        let scratch = TensorStorage(capacity: context.batchesPerChunk * tq * width)
        for batches in context.chunks {
            attention.output(batches: batches, into: scratch.pointer, storingStatistics: true)
            linearAccumulate(scratch.pointer, rows: (batches.lowerBound * tq)..<(batches.upperBound * tq), weight: weight, beta: beta, into: out)
        }
        let inputs = attention.inputs + [weight] + (bias.map { [$0] } ?? []) + (residual.map { [$0] } ?? [])
        return Tape.shared.record(.attentionProjection(context.keptForBackward()), inputs: inputs, output: out)
    }
}

enum AttentionProjectionGradient {
    /// Gradients of the attention's inputs, the weight, the bias and the residual. Per chunk of batches, the attention
    /// backward recomputes each head's probabilities once and, from them, the chunk's attention output for the weight
    /// gradient.
    static func backward(_ c: AttentionProjectionContext, outputGradient g: Tensor, needs: [Bool]) -> [Tensor?] {
        let a = c.attention, tq = a.queryLength, width = a.width, outFeatures = c.weight.shape[0]
        let inputCount = a.inputs.count, weightIndex = inputCount
        let wantsInputs = needs.prefix(inputCount).contains(true)
        let dAttention = wantsInputs ? MatmulGradient.linearInputGradient(g, weight: c.weight, inputShape: [a.batch, tq, width]) : nil
        let dInputs = wantsInputs ? AttentionGradient.gradientTensors(a) : nil
        let dw = needs[weightIndex] ? Tensor(uninitializedShape: c.weight.shape) : nil
        if dInputs != nil || dw != nil {
            let scratch = TensorStorage(capacity: c.batchesPerChunk * tq * width)
            for batches in c.chunks {
                if let dInputs, let dAttention {
                    AttentionGradient.backward(a, batches: batches, outputGradient: dAttention.pointer, into: dInputs,
                                               recomputingOutputInto: dw == nil ? nil : scratch.pointer)
                } else {
                    a.output(batches: batches, into: scratch.pointer, storingStatistics: false)
                }
                if let dw {
                    let firstRow = batches.lowerBound * tq
                    BLAS.gemm(transposeA: true, transposeB: false, m: outFeatures, n: width, k: batches.count * tq,
                              a: g.pointer + firstRow * outFeatures, lda: outFeatures, b: scratch.pointer, ldb: width,
                              beta: firstRow == 0 ? 0 : 1, c: dw.storage.pointer, ldc: width)
                }
            }
        }
        var grads: [Tensor?] = (0..<inputCount).map { needs[$0] ? dInputs?[$0] : nil } + [dw]
        if c.hasBias { grads.append(needs[weightIndex + 1] ? g.reduced(toShape: [outFeatures]) : nil) }
        if c.hasResidual { grads.append(needs.last! ? g : nil) }
        return grads
    }
}
