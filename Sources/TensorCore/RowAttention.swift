/// What the backward pass of `Tensor.attention(queries:atRows:keysValues:heads:causal:)` keeps: its inputs and
/// every query's probabilities (a few floats per key and head: one row per query, not one per position).
public struct RowAttentionContext {
    /// The queries [R, W], their positions in the flattened [B·T] sequence, and keys | values [B, T, 2W].
    let queries: Tensor, rows: [Int32], keysValues: Tensor
    let heads: Int, causal: Bool
    /// softmax(q kᵀ / √d) of every query and head, [R, H, T]; keys a causal query does not see hold 0.
    let probabilities: Tensor

    var positions: Int { keysValues.shape[1] }
    var width: Int { queries.shape[1] }
    var headDim: Int { width / heads }
    var scale: Float { 1 / Float(headDim).squareRoot() }

    /// The batch a query row belongs to and how many keys it attends to (all, or those up to its own position).
    func span(_ r: Int) -> (batch: Int, keys: Int) {
        let row = Int(rows[r]), t = positions
        return (row / t, causal ? row % t + 1 : t)
    }
}

extension Tensor {
    /// Multi-head scaled dot-product attention for some query positions only: `queries` [R, W] are the queries of the
    /// flattened positions `rows` (b·T + t) of a sequence whose keys and values are `keysValues` [B, T, 2W] (k | v, as
    /// the last two thirds of `nn.MultiheadAttention`'s in-projection) -> [R, W].
    ///
    /// The same values as full attention's rows `rows`, for a fraction of its work when few rows are read afterwards
    /// (a tower's last block, whose only output read is the pooled token). With `causal`, position t attends to keys ≤ t.
    public static func attention(queries q: Tensor, atRows rows: [Int32], keysValues kv: Tensor, heads: Int, causal: Bool) -> Tensor {
        precondition(q.rank == 2 && kv.rank == 3 && kv.shape[2] == 2 * q.shape[1] && q.shape[0] == rows.count,
                     "attention: queries \(q.shape) at \(rows.count) rows do not fit keys|values \(kv.shape)")
        precondition(heads > 0 && q.shape[1] % heads == 0, "attention: width \(q.shape[1]) is not divisible by \(heads) heads")
        let sequenceRows = kv.shape[0] * kv.shape[1]
        for row in rows { precondition(row >= 0 && Int(row) < sequenceRows, "attention: query row \(row) outside [0, \(sequenceRows))") }
        let context = RowAttentionContext(queries: q, rows: rows, keysValues: kv, heads: heads, causal: causal,
                                          probabilities: Tensor(uninitializedShape: [rows.count, heads, kv.shape[1]]))
        let (t, w, d) = (context.positions, context.width, context.headDim)
        let out = Tensor(uninitializedShape: [rows.count, w])
        for r in rows.indices {
            let (b, n) = context.span(r)
            let keys = kv.pointer + b * t * 2 * w, values = keys + w
            for h in 0..<heads {
                let p = context.probabilities.storage.pointer + (r * heads + h) * t
                BLAS.gemm(transposeA: false, transposeB: true, m: 1, n: n, k: d, alpha: context.scale,
                          a: q.pointer + r * w + h * d, lda: w, b: keys + h * d, ldb: 2 * w, c: p, ldc: t)
                Kernels.softmaxRow(p, p, n)
                (p + n).update(repeating: 0, count: t - n)
                BLAS.gemm(transposeA: false, transposeB: false, m: 1, n: d, k: n, a: p, lda: t,
                          b: values + h * d, ldb: 2 * w, c: out.storage.pointer + r * w + h * d, ldc: w)
            }
        }
        return Tape.shared.record(.rowAttention(context), inputs: [q, kv], output: out)
    }
}

enum RowAttentionGradient {
    /// Gradients of the queries and of keys | values: the kept probabilities give dV = pᵀ dO and dS = p ⊙ (dP − p·dP),
    /// then dq = dS K and dK = dSᵀ q (both scaled), per query and head; keys and values no query sees get 0.
    static func backward(_ c: RowAttentionContext, outputGradient g: Tensor) -> [Tensor?] {
        let (t, w, d, heads) = (c.positions, c.width, c.headDim, c.heads)
        let dq = Tensor(uninitializedShape: c.queries.shape), dkv = Tensor.zeros(c.keysValues.shape)
        let scratch = TensorStorage(capacity: t), dS = scratch.pointer
        defer { withExtendedLifetime(scratch) {} }
        for r in c.rows.indices {
            let (b, n) = c.span(r)
            let keys = c.keysValues.pointer + b * t * 2 * w, values = keys + w
            let dKeys = dkv.storage.pointer + b * t * 2 * w, dValues = dKeys + w
            for h in 0..<heads {
                let p = c.probabilities.pointer + (r * heads + h) * t, dOut = g.pointer + r * w + h * d
                let query = c.queries.pointer + r * w + h * d
                // dV[0..<n] += pᵀ dO
                BLAS.gemm(transposeA: true, transposeB: false, m: n, n: d, k: 1, a: p, lda: t, b: dOut, ldb: w,
                          beta: 1, c: dValues + h * d, ldc: 2 * w)
                // dP = dO Vᵀ, then dS = p ⊙ (dP − p·dP)
                BLAS.gemm(transposeA: false, transposeB: true, m: 1, n: n, k: d, a: dOut, lda: w, b: values + h * d, ldb: 2 * w,
                          c: dS, ldc: t)
                Kernels.softmaxBackwardRow(p, dS, dS, n)
                // dq = dS K · scale, dK[0..<n] += dSᵀ q · scale
                BLAS.gemm(transposeA: false, transposeB: false, m: 1, n: d, k: n, alpha: c.scale, a: dS, lda: t,
                          b: keys + h * d, ldb: 2 * w, c: dq.storage.pointer + r * w + h * d, ldc: w)
                BLAS.gemm(transposeA: true, transposeB: false, m: n, n: d, k: 1, alpha: c.scale, a: dS, lda: t,
                          b: query, ldb: w, beta: 1, c: dKeys + h * d, ldc: 2 * w)
            }
        }
        return [dq, dkv]
    }
}
