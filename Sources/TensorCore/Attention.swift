/// What the attention backward pass needs: the inputs, their layout and the attention probabilities.
public struct AttentionContext {
    /// Either one packed [B, T, 3W] tensor (q | k | v, as `nn.MultiheadAttention`'s in-projection gives)
    /// or three separate tensors [B, Tq, W], [B, Tk, W], [B, Tk, W].
    let inputs: [Tensor]
    let batch: Int, queryLength: Int, keyLength: Int, width: Int, heads: Int
    let causal: Bool
    /// softmax(q kᵀ / √d) for every batch and head: [B, H, Tq, Tk].
    let probabilities: Tensor

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
}

extension Tensor {
    /// Multi-head scaled dot-product attention on a packed q|k|v projection [B, T, 3W] -> [B, T, W].
    ///
    /// Heads are contiguous chunks of W (PyTorch's layout); q, k and v are read in place through BLAS
    /// strides. With `causal`, position i attends to positions ≤ i (the text tower's mask).
    public static func attention(packedQKV qkv: Tensor, heads: Int, causal: Bool) -> Tensor {
        precondition(qkv.rank == 3 && qkv.shape[2] % 3 == 0, "attention: packed qkv shape \(qkv.shape) is not [B, T, 3W]")
        let width = qkv.shape[2] / 3
        return attention(inputs: [qkv], batch: qkv.shape[0], queryLength: qkv.shape[1], keyLength: qkv.shape[1],
                         width: width, heads: heads, causal: causal)
    }

    /// Multi-head scaled dot-product attention with separate query [B, Tq, W], key and value [B, Tk, W].
    public static func attention(query: Tensor, key: Tensor, value: Tensor, heads: Int, causal: Bool) -> Tensor {
        precondition(query.rank == 3 && key.rank == 3 && key.shape == value.shape && query.shape[0] == key.shape[0]
                     && query.shape[2] == key.shape[2],
                     "attention: query \(query.shape), key \(key.shape) and value \(value.shape) do not fit")
        return attention(inputs: [query, key, value], batch: query.shape[0], queryLength: query.shape[1],
                         keyLength: key.shape[1], width: query.shape[2], heads: heads, causal: causal)
    }

    private static func attention(inputs: [Tensor], batch: Int, queryLength tq: Int, keyLength tk: Int,
                                  width: Int, heads: Int, causal: Bool) -> Tensor {
        precondition(heads > 0 && width % heads == 0, "attention: width \(width) is not divisible by \(heads) heads")
        let probabilities = Tensor(uninitializedShape: [batch, heads, tq, tk])
        let context = AttentionContext(inputs: inputs, batch: batch, queryLength: tq, keyLength: tk, width: width,
                                       heads: heads, causal: causal, probabilities: probabilities)
        let out = Tensor(uninitializedShape: [batch, tq, width])
        let d = context.headDim, ld = context.queryStride
        for b in 0..<batch {
            let (q, k, v) = context.pointers(b)
            for h in 0..<heads {
                let p = probabilities.storage.pointer + (b * heads + h) * tq * tk
                BLAS.gemm(transposeA: false, transposeB: true, m: tq, n: tk, k: d, alpha: context.scale,
                          a: q + h * d, lda: ld, b: k + h * d, ldb: ld, c: p, ldc: tk)
                for i in 0..<tq {
                    let row = p + i * tk
                    if causal && i + 1 < tk { (row + i + 1).update(repeating: -.infinity, count: tk - i - 1) }
                    Kernels.softmaxRow(row, row, tk)
                }
                BLAS.gemm(transposeA: false, transposeB: false, m: tq, n: d, k: tk,
                          a: p, lda: tk, b: v + h * d, ldb: ld, c: out.storage.pointer + b * tq * width + h * d, ldc: width)
            }
        }
        return Tape.shared.record(.attention(context), inputs: inputs, output: out)
    }
}

enum AttentionGradient {
    static func backward(_ c: AttentionContext, outputGradient g: Tensor) -> [Tensor?] {
        let (tq, tk, d, w, ld) = (c.queryLength, c.keyLength, c.headDim, c.width, c.queryStride)
        // Every head's dq, dk and dv block is written whole by a product with beta = 0: no zero fill needed.
        let grads: [Tensor] = c.inputs.map { Tensor(uninitializedShape: $0.shape) }
        let scratch = TensorStorage(capacity: tq * tk)
        let dS = scratch.pointer
        for b in 0..<c.batch {
            let (q, k, v) = c.pointers(b)
            let dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>
            if c.packed {
                dq = grads[0].storage.pointer + b * tq * 3 * w; dk = dq + w; dv = dq + 2 * w
            } else {
                dq = grads[0].storage.pointer + b * tq * w
                dk = grads[1].storage.pointer + b * tk * w
                dv = grads[2].storage.pointer + b * tk * w
            }
            let dOut = g.pointer + b * tq * w
            for h in 0..<c.heads {
                let p = c.probabilities.pointer + (b * c.heads + h) * tq * tk
                // dV = Pᵀ dO
                BLAS.gemm(transposeA: true, transposeB: false, m: tk, n: d, k: tq,
                          a: p, lda: tk, b: dOut + h * d, ldb: w, c: dv + h * d, ldc: ld)
                // dP = dO Vᵀ, then dS = P ⊙ (dP − rowsum(dP ⊙ P)) (masked entries have P = 0).
                BLAS.gemm(transposeA: false, transposeB: true, m: tq, n: tk, k: d,
                          a: dOut + h * d, lda: w, b: v + h * d, ldb: ld, c: dS, ldc: tk)
                for i in 0..<tq {
                    let pr = p + i * tk, sr = dS + i * tk
                    let dot = Reduce.dot(pr, sr, tk)
                    for j in 0..<tk { sr[j] = pr[j] * (sr[j] - dot) }
                }
                // dQ = dS K · scale, dK = dSᵀ Q · scale
                BLAS.gemm(transposeA: false, transposeB: false, m: tq, n: d, k: tk, alpha: c.scale,
                          a: dS, lda: tk, b: k + h * d, ldb: ld, c: dq + h * d, ldc: ld)
                BLAS.gemm(transposeA: true, transposeB: false, m: tk, n: d, k: tq, alpha: c.scale,
                          a: dS, lda: tk, b: q + h * d, ldb: ld, c: dk + h * d, ldc: ld)
            }
        }
        return grads
    }
}
