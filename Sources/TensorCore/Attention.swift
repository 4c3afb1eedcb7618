/// What the attention backward pass needs: the inputs, their layout and each softmax row's statistics.
public struct AttentionContext {
    /// Either one packed [B, T, 3W] tensor (q | k | v, as `nn.MultiheadAttention`'s in-projection gives)
    /// or three separate tensors [B, Tq, W], [B, Tk, W], [B, Tk, W].
    let inputs: [Tensor]
    let batch: Int, queryLength: Int, keyLength: Int, width: Int, heads: Int
    let causal: Bool
    /// Every softmax row's maximum and reciprocal sum, [B, H, Tq] each. Backward recomputes the probabilities from
    /// them (one q kᵀ product per head, same values bit for bit) instead of keeping [B, H, Tq, Tk], which is as
    /// large as an activation.
    let rowMax: Tensor, rowInverseSum: Tensor

    init(inputs: [Tensor], batch: Int, queryLength: Int, keyLength: Int, width: Int, heads: Int, causal: Bool) {
        precondition(heads > 0 && width % heads == 0, "attention: width \(width) is not divisible by \(heads) heads")
        self.inputs = inputs
        self.batch = batch; self.queryLength = queryLength; self.keyLength = keyLength
        self.width = width; self.heads = heads; self.causal = causal
        rowMax = Tensor(uninitializedShape: [batch, heads, queryLength])
        rowInverseSum = Tensor(uninitializedShape: [batch, heads, queryLength])
    }

    var packed: Bool { inputs.count == 1 }
    var headDim: Int { width / heads }
    var scale: Float { 1 / Float(headDim).squareRoot() }
    /// Row stride of q, k and v as stored.
    var queryStride: Int { packed ? 3 * width : width }

    /// Pointers to q, k, v of batch `b` (head 0).
    func pointers(_ b: Int) -> (q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>) {
        if packed {
            let base = inputs[0].pointer + b * queryLength * 3 * width
            return (base, base + width, base + 2 * width)
        }
        return (inputs[0].pointer + b * queryLength * width, inputs[1].pointer + b * keyLength * width,
                inputs[2].pointer + b * keyLength * width)
    }

    /// Writes softmax(q kᵀ / √d) of batch `b`, head `h` to `p` [Tq, Tk]. The forward pass (`storingStatistics`) keeps
    /// each row's maximum and reciprocal sum; backward reuses them.
    func probabilities(batch b: Int, head h: Int, into p: UnsafeMutablePointer<Float>, storingStatistics: Bool) {
        let (tq, tk, d, ld) = (queryLength, keyLength, headDim, queryStride)
        let (q, k, _) = pointers(b)
        BLAS.gemm(transposeA: false, transposeB: true, m: tq, n: tk, k: d, alpha: scale,
                  a: q + h * d, lda: ld, b: k + h * d, ldb: ld, c: p, ldc: tk)
        let first = (b * heads + h) * tq
        let maxima = rowMax.storage.pointer + first, inverseSums = rowInverseSum.storage.pointer + first
        for i in 0..<tq {
            let row = p + i * tk
            if causal && i + 1 < tk { (row + i + 1).update(repeating: -.infinity, count: tk - i - 1) }
            if storingStatistics {
                (maxima[i], inverseSums[i]) = Kernels.softmaxRow(row, row, tk)
            } else {
                Kernels.softmaxRow(row, row, tk, maximum: maxima[i], inverseSum: inverseSums[i])
            }
        }
    }

    /// Writes the attention output of batches `batches` (all heads) to `out`, rows of `width` from the first batch's.
    func output(batches: Range<Int>, into out: UnsafeMutablePointer<Float>, storingStatistics: Bool) {
        let (tq, tk, d) = (queryLength, keyLength, headDim)
        let scratch = TensorStorage(capacity: tq * tk)
        for b in batches {
            let v = pointers(b).v
            for h in 0..<heads {
                probabilities(batch: b, head: h, into: scratch.pointer, storingStatistics: storingStatistics)
                BLAS.gemm(transposeA: false, transposeB: false, m: tq, n: d, k: tk, a: scratch.pointer, lda: tk,
                          b: v + h * d, ldb: queryStride, c: out + (b - batches.lowerBound) * tq * width + h * d, ldc: width)
            }
        }
    }
}

extension Tensor {
    /// Multi-head scaled dot-product attention on a packed q|k|v projection [B, T, 3W] -> [B, T, W].
    ///
    /// Heads are contiguous chunks of W (PyTorch's layout); q, k and v are read in place through BLAS
    /// strides. With `causal`, position i attends to positions ≤ i (the text tower's mask).
    public static func attention(packedQKV qkv: Tensor, heads: Int, causal: Bool) -> Tensor {
        attention(AttentionContext(packedQKV: qkv, heads: heads, causal: causal))
    }

    /// Multi-head scaled dot-product attention with separate query [B, Tq, W], key and value [B, Tk, W].
    public static func attention(query: Tensor, key: Tensor, value: Tensor, heads: Int, causal: Bool) -> Tensor {
        precondition(query.rank == 3 && key.rank == 3 && key.shape == value.shape && query.shape[0] == key.shape[0]
                     && query.shape[2] == key.shape[2],
                     "attention: query \(query.shape), key \(key.shape) and value \(value.shape) do not fit")
        return attention(AttentionContext(inputs: [query, key, value], batch: query.shape[0], queryLength: query.shape[1],
                                          keyLength: key.shape[1], width: query.shape[2], heads: heads, causal: causal))
    }

    private static func attention(_ context: AttentionContext) -> Tensor {
        let out = Tensor(uninitializedShape: [context.batch, context.queryLength, context.width])
        context.output(batches: 0..<context.batch, into: out.storage.pointer, storingStatistics: true)
        return Tape.shared.record(.attention(context), inputs: context.inputs, output: out)
    }
}

extension AttentionContext {
    init(packedQKV qkv: Tensor, heads: Int, causal: Bool) {
        precondition(qkv.rank == 3 && qkv.shape[2] % 3 == 0, "attention: packed qkv shape \(qkv.shape) is not [B, T, 3W]")
        self.init(inputs: [qkv], batch: qkv.shape[0], queryLength: qkv.shape[1], keyLength: qkv.shape[1],
                  width: qkv.shape[2] / 3, heads: heads, causal: causal)
    }
}

enum AttentionGradient {
    static func backward(_ c: AttentionContext, outputGradient g: Tensor) -> [Tensor?] {
        let grads = gradientTensors(c)
        backward(c, batches: 0..<c.batch, outputGradient: g.pointer, into: grads, recomputingOutputInto: nil)
        return grads
    }

    /// Uninitialised gradients of the inputs: every head's dq, dk and dv block is written whole by a product with beta = 0.
    static func gradientTensors(_ c: AttentionContext) -> [Tensor] {
        c.inputs.map { Tensor(uninitializedShape: $0.shape) }
    }

    /// Writes the input gradients of batches `batches` from the output gradient `g` (all batches, rows of W), recomputing
    /// each head's probabilities; with `output`, also writes those batches' attention output there (as `output(batches:)`).
    static func backward(_ c: AttentionContext, batches: Range<Int>, outputGradient g: UnsafePointer<Float>, into grads: [Tensor],
                         recomputingOutputInto output: UnsafeMutablePointer<Float>?) {
        let (tq, tk, d, w, ld) = (c.queryLength, c.keyLength, c.headDim, c.width, c.queryStride)
        let scratch = TensorStorage(capacity: 2 * tq * tk)
        let p = scratch.pointer, dS = p + tq * tk
        for b in batches {
            let (q, k, v) = c.pointers(b)
            let dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>
            if c.packed {
                dq = grads[0].storage.pointer + b * tq * 3 * w; dk = dq + w; dv = dq + 2 * w
            } else {
                dq = grads[0].storage.pointer + b * tq * w
                dk = grads[1].storage.pointer + b * tk * w
                dv = grads[2].storage.pointer + b * tk * w
            }
            let dOut = g + b * tq * w
            for h in 0..<c.heads {
                c.probabilities(batch: b, head: h, into: p, storingStatistics: false)
                if let output {
                    BLAS.gemm(transposeA: false, transposeB: false, m: tq, n: d, k: tk, a: p, lda: tk,
                              b: v + h * d, ldb: ld, c: output + (b - batches.lowerBound) * tq * w + h * d, ldc: w)
                }
                // dV = Pᵀ dO
                BLAS.gemm(transposeA: true, transposeB: false, m: tk, n: d, k: tq,
                          a: p, lda: tk, b: dOut + h * d, ldb: w, c: dv + h * d, ldc: ld)
                // dP = dO Vᵀ, then dS = P ⊙ (dP − rowsum(dP ⊙ P)) (masked entries have P = 0).
                BLAS.gemm(transposeA: false, transposeB: true, m: tq, n: tk, k: d,
                          a: dOut + h * d, lda: w, b: v + h * d, ldb: ld, c: dS, ldc: tk)
                for i in 0..<tq { Kernels.softmaxBackwardRow(p + i * tk, dS + i * tk, dS + i * tk, tk) }
                // dQ = dS K · scale, dK = dSᵀ Q · scale
                BLAS.gemm(transposeA: false, transposeB: false, m: tq, n: d, k: tk, alpha: c.scale,
                          a: dS, lda: tk, b: k + h * d, ldb: ld, c: dq + h * d, ldc: ld)
                BLAS.gemm(transposeA: true, transposeB: false, m: tk, n: d, k: tq, alpha: c.scale,
                          a: dS, lda: tk, b: q + h * d, ldb: ld, c: dk + h * d, ldc: ld)
            }
        }
    }
}
