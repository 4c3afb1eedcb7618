/// What the attention backward pass needs: the inputs, their layout and each softmax row's statistics.
public struct AttentionContext {
    /// How q, k and v are stored.
    enum Layout {
        /// One [B, T, 3W] tensor, q | k | v (as `nn.MultiheadAttention`'s in-projection gives for self-attention).
        case packed
        /// Three tensors [B, Tq, W], [B, Tk, W], [B, Tk, W].
        case separate
        /// Queries [B, Tq, W] and keys | values [B, Tk, 2W] (the in-projection's last two thirds applied to another
        /// sequence: cross-attention).
        case keysValuesPacked
    }

    /// q, k and v as `layout` says, in float32 (empty while `kept` holds them).
    private(set) var inputs: [Tensor]
    /// The inputs as the tape keeps them when it keeps activations as bfloat16; `restored()` widens them for backward.
    private var kept: [SavedActivation]?
    let layout: Layout
    let batch: Int, queryLength: Int, keyLength: Int, width: Int, heads: Int
    let causal: Bool
    /// How many leading keys of each batch row are real (the rest is padding that no query attends to), or nil when
    /// all `keyLength` are. Padding sits at the end of a padded text or image-token sequence, so a count per row says
    /// all a mask would, and the products then skip the padded keys instead of computing scores only to discard them.
    let validKeyCounts: [Int]?
    /// Every softmax row's maximum and reciprocal sum, [B, H, Tq] each. Backward recomputes the probabilities from
    /// them (one q kᵀ product per head, same values bit for bit) instead of keeping [B, H, Tq, Tk], which is as
    /// large as an activation.
    let rowMax: Tensor, rowInverseSum: Tensor

    init(inputs: [Tensor], layout: Layout, batch: Int, queryLength: Int, keyLength: Int, width: Int, heads: Int, causal: Bool,
         validKeyCounts: [Int]? = nil) {
        precondition(heads > 0 && width % heads == 0, "attention: width \(width) is not divisible by \(heads) heads")
        if let validKeyCounts {
            precondition(validKeyCounts.count == batch && validKeyCounts.allSatisfy { (0...keyLength).contains($0) },
                         "attention: valid key counts \(validKeyCounts) are not one count in 0...\(keyLength) per batch row of \(batch)")
        }
        self.inputs = inputs
        self.layout = layout
        self.batch = batch; self.queryLength = queryLength; self.keyLength = keyLength
        self.width = width; self.heads = heads; self.causal = causal
        self.validKeyCounts = validKeyCounts
        rowMax = Tensor(uninitializedShape: [batch, heads, queryLength])
        rowInverseSum = Tensor(uninitializedShape: [batch, heads, queryLength])
    }

    /// This context as the tape keeps it: its inputs rounded to bfloat16 when the tape keeps activations so.
    func keptForBackward() -> AttentionContext {
        guard Tape.shared.keepsBFloat16Activations else { return self }
        var c = self
        c.kept = inputs.map { SavedActivation($0).kept() }
        c.inputs = []
        return c
    }

    /// This context with float32 inputs again (widened when the tape kept them as bfloat16).
    func restored() -> AttentionContext {
        guard let kept else { return self }
        var c = self
        c.inputs = kept.map(\.float32)
        c.kept = nil
        return c
    }

    var headDim: Int { width / heads }
    var scale: Float { 1 / Float(headDim).squareRoot() }
    /// Row stride of q as stored.
    var queryStride: Int { layout == .packed ? 3 * width : width }
    /// Row stride of k and v as stored.
    var keyValueStride: Int {
        switch layout {
        case .packed: return 3 * width
        case .separate: return width
        case .keysValuesPacked: return 2 * width
        }
    }

    /// The keys batch `b`'s queries attend to: the first this many.
    func validKeys(_ b: Int) -> Int { validKeyCounts?[b] ?? keyLength }

    /// Where q, k and v of batch `b` (head 0) start: the index of the tensor among the inputs and the element in it.
    private func starts(_ b: Int) -> [(tensor: Int, offset: Int)] {
        let (tq, tk, w) = (queryLength, keyLength, width)
        switch layout {
        case .packed: return [(0, b * tq * 3 * w), (0, b * tq * 3 * w + w), (0, b * tq * 3 * w + 2 * w)]
        case .separate: return [(0, b * tq * w), (1, b * tk * w), (2, b * tk * w)]
        case .keysValuesPacked: return [(0, b * tq * w), (1, b * tk * 2 * w), (1, b * tk * 2 * w + w)]
        }
    }

    /// Pointers to q, k, v of batch `b` (head 0).
    func pointers(_ b: Int) -> (q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>) {
        let s = starts(b).map { inputs[$0.tensor].pointer + $0.offset }
        return (s[0], s[1], s[2])
    }

    /// Pointers to the gradients of q, k, v of batch `b` (head 0) in `grads`, tensors shaped as the inputs.
    func gradientPointers(_ grads: [Tensor], _ b: Int)
        -> (dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>) {
        let s = starts(b).map { grads[$0.tensor].storage.pointer + grads[$0.tensor].offset + $0.offset }
        return (s[0], s[1], s[2])
    }

    /// Writes softmax(q kᵀ / √d) of batch `b`, head `h` to `p` [Tq, Tk]; padded keys get probability 0, and a query
    /// with no valid key gets a row of zeros (so its output is zero, not the NaN of a softmax over nothing). The forward
    /// pass (`storingStatistics`) keeps each row's maximum and reciprocal sum; backward reuses them.
    func probabilities(batch b: Int, head h: Int, into p: UnsafeMutablePointer<Float>, storingStatistics: Bool) {
        let (tq, tk, d) = (queryLength, keyLength, headDim), n = validKeys(b)
        let (q, k, _) = pointers(b)
        BLAS.gemm(transposeA: false, transposeB: true, m: tq, n: n, k: d, alpha: scale,
                  a: q + h * d, lda: queryStride, b: k + h * d, ldb: keyValueStride, c: p, ldc: tk)
        let first = (b * heads + h) * tq
        let maxima = rowMax.storage.pointer + first, inverseSums = rowInverseSum.storage.pointer + first
        for i in 0..<tq {
            let row = p + i * tk
            if causal && i + 1 < n { (row + i + 1).update(repeating: -.infinity, count: n - i - 1) }
            if storingStatistics {
                (maxima[i], inverseSums[i]) = Kernels.softmaxRow(row, row, n)
            } else {
                Kernels.softmaxRow(row, row, n, maximum: maxima[i], inverseSum: inverseSums[i])
            }
            if n < tk { (row + n).update(repeating: 0, count: tk - n) }
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
                BLAS.gemm(transposeA: false, transposeB: false, m: tq, n: d, k: validKeys(b), a: scratch.pointer, lda: tk,
                          b: v + h * d, ldb: keyValueStride, c: out + (b - batches.lowerBound) * tq * width + h * d, ldc: width)
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
        return attention(AttentionContext(inputs: [query, key, value], layout: .separate, batch: query.shape[0],
                                          queryLength: query.shape[1], keyLength: key.shape[1], width: query.shape[2],
                                          heads: heads, causal: causal))
    }

    static func attention(_ context: AttentionContext) -> Tensor {
        let out = Tensor(uninitializedShape: [context.batch, context.queryLength, context.width])
        context.output(batches: 0..<context.batch, into: out.storage.pointer, storingStatistics: true)
        return Tape.shared.record(.attention(context.keptForBackward()), inputs: context.inputs, output: out)
    }
}

extension AttentionContext {
    init(packedQKV qkv: Tensor, heads: Int, causal: Bool, validKeyCounts: [Int]? = nil) {
        precondition(qkv.rank == 3 && qkv.shape[2] % 3 == 0, "attention: packed qkv shape \(qkv.shape) is not [B, T, 3W]")
        self.init(inputs: [qkv], layout: .packed, batch: qkv.shape[0], queryLength: qkv.shape[1], keyLength: qkv.shape[1],
                  width: qkv.shape[2] / 3, heads: heads, causal: causal, validKeyCounts: validKeyCounts)
    }
}

enum AttentionGradient {
    static func backward(_ c: AttentionContext, outputGradient g: Tensor) -> [Tensor?] {
        let grads = gradientTensors(c)
        backward(c, batches: 0..<c.batch, outputGradient: g.pointer, into: grads, recomputingOutputInto: nil)
        return grads
    }

    /// Uninitialised gradients of the inputs: every head's dq, dk and dv block is written whole by a product with beta = 0,
    /// and padded keys' rows are zeroed.
    static func gradientTensors(_ c: AttentionContext) -> [Tensor] {
        c.inputs.map { Tensor(uninitializedShape: $0.shape) }
    }

    /// Writes the input gradients of batches `batches` from the output gradient `g` (all batches, rows of W), recomputing
    /// each head's probabilities; with `output`, also writes those batches' attention output there (as `output(batches:)`).
    ///
    /// The products run over each batch's valid keys only; padded keys and values get a zero gradient.
    static func backward(_ c: AttentionContext, batches: Range<Int>, outputGradient g: UnsafePointer<Float>, into grads: [Tensor],
                         recomputingOutputInto output: UnsafeMutablePointer<Float>?) {
        let (tq, tk, d, w, ldq, ldkv) = (c.queryLength, c.keyLength, c.headDim, c.width, c.queryStride, c.keyValueStride)
        let scratch = TensorStorage(capacity: 2 * tq * tk)
        let p = scratch.pointer, dS = p + tq * tk
        for b in batches {
            let (q, k, v) = c.pointers(b), (dq, dk, dv) = c.gradientPointers(grads, b)
            let n = c.validKeys(b), dOut = g + b * tq * w
            for h in 0..<c.heads {
                c.probabilities(batch: b, head: h, into: p, storingStatistics: false)
                if let output {
                    BLAS.gemm(transposeA: false, transposeB: false, m: tq, n: d, k: n, a: p, lda: tk,
                              b: v + h * d, ldb: ldkv, c: output + (b - batches.lowerBound) * tq * w + h * d, ldc: w)
                }
                // dV = Pᵀ dO
                BLAS.gemm(transposeA: true, transposeB: false, m: n, n: d, k: tq,
                          a: p, lda: tk, b: dOut + h * d, ldb: w, c: dv + h * d, ldc: ldkv)
                // dP = dO Vᵀ, then dS = P ⊙ (dP − rowsum(dP ⊙ P)) (causally masked entries have P = 0).
                BLAS.gemm(transposeA: false, transposeB: true, m: tq, n: n, k: d,
                          a: dOut + h * d, lda: w, b: v + h * d, ldb: ldkv, c: dS, ldc: tk)
                for i in 0..<tq { Kernels.softmaxBackwardRow(p + i * tk, dS + i * tk, dS + i * tk, n) }
                // dQ = dS K · scale, dK = dSᵀ Q · scale
                BLAS.gemm(transposeA: false, transposeB: false, m: tq, n: d, k: n, alpha: c.scale,
                          a: dS, lda: tk, b: k + h * d, ldb: ldkv, c: dq + h * d, ldc: ldq)
                BLAS.gemm(transposeA: true, transposeB: false, m: n, n: d, k: tq, alpha: c.scale,
                          a: dS, lda: tk, b: q + h * d, ldb: ldq, c: dk + h * d, ldc: ldkv)
            }
            for j in n..<tk {
                (dk + j * ldkv).update(repeating: 0, count: w)
                (dv + j * ldkv).update(repeating: 0, count: w)
            }
        }
    }
}
