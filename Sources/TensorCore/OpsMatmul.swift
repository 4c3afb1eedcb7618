extension Tensor {
    /// Matrix product of the last two dimensions, optionally transposing either operand (through BLAS
    /// flags, no copy). Leading dimensions are batch dimensions and must agree, or `b` is 2-D and shared.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        let out = matmulValues(a, b, transposeA: transposeA, transposeB: transposeB)
        return Tape.shared.record(.matmul(a: a, b: b, transposeA: transposeA, transposeB: transposeB),
                                  inputs: [a, b], output: out)
    }

    /// Shapes of a matrix product: (batch, m, k, n, output shape).
    static func matmulGeometry(_ a: [Int], _ b: [Int], _ tA: Bool, _ tB: Bool) -> (batch: Int, m: Int, k: Int, n: Int, out: [Int], bShared: Bool) {
        precondition(a.count >= 2 && b.count >= 2, "matmul: shapes \(a) and \(b) need at least 2 dimensions")
        let m = tA ? a[a.count - 1] : a[a.count - 2]
        let ka = tA ? a[a.count - 2] : a[a.count - 1]
        let kb = tB ? b[b.count - 1] : b[b.count - 2]
        let n = tB ? b[b.count - 2] : b[b.count - 1]
        precondition(ka == kb, "matmul: inner dimensions of \(a)\(tA ? "ᵀ" : "") and \(b)\(tB ? "ᵀ" : "") differ (\(ka) vs \(kb))")
        let batchA = Array(a.dropLast(2)), batchB = Array(b.dropLast(2))
        let bShared = batchB.isEmpty
        precondition(bShared || batchA == batchB, "matmul: batch dimensions of \(a) and \(b) differ")
        return (batchA.reduce(1, *), m, ka, n, batchA + [m, n], bShared)
    }

    static func matmulValues(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool) -> Tensor {
        let g = matmulGeometry(a.shape, b.shape, transposeA, transposeB)
        let out = Tensor(uninitializedShape: g.out)
        gemmBatched(a.pointer, a.shape, transposeA, b.pointer, b.shape, transposeB, out.storage.pointer, beta: 0)
        return out
    }

    /// C (+)= op(A) op(B) over the batch; a shared 2-D B with an untransposed A is one large product.
    static func gemmBatched(_ a: UnsafePointer<Float>, _ aShape: [Int], _ tA: Bool,
                            _ b: UnsafePointer<Float>, _ bShape: [Int], _ tB: Bool,
                            _ c: UnsafeMutablePointer<Float>, beta: Float) {
        let g = matmulGeometry(aShape, bShape, tA, tB)
        let lda = aShape[aShape.count - 1], ldb = bShape[bShape.count - 1]
        if g.bShared && !tA {
            BLAS.gemm(transposeA: false, transposeB: tB, m: g.batch * g.m, n: g.n, k: g.k,
                      a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: g.n)
            return
        }
        let aStride = g.m * g.k, bStride = g.bShared ? 0 : g.k * g.n, cStride = g.m * g.n
        for i in 0..<g.batch {
            BLAS.gemm(transposeA: tA, transposeB: tB, m: g.m, n: g.n, k: g.k,
                      a: a + i * aStride, lda: lda, b: b + i * bStride, ldb: ldb,
                      beta: beta, c: c + i * cStride, ldc: g.n)
        }
    }

    /// A fully connected layer as PyTorch's `nn.Linear`: y = x Wᵀ + b, with `weight` [out, in] and `bias` [out].
    ///
    /// `x` may have any number of leading dimensions; they are flattened into one matrix product. A `residual`
    /// of the output's shape is added in the same pass (a transformer block's skip connection): the product
    /// accumulates onto residual + bias, so neither the sum nor the bare product is a separate pass or tensor.
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, adding residual: Tensor? = nil) -> Tensor {
        precondition(weight.rank == 2, "linear: weight shape \(weight.shape) is not 2-D")
        let inFeatures = weight.shape[1], outFeatures = weight.shape[0]
        precondition(x.shape.last == inFeatures, "linear: input shape \(x.shape) does not end in \(inFeatures) (weight \(weight.shape))")
        if let bias { precondition(bias.shape == [outFeatures], "linear: bias shape \(bias.shape) vs weight \(weight.shape)") }
        let out = linearProduct(x, weight: weight, bias: bias, adding: residual)
        let inputs = [x, weight] + (bias.map { [$0] } ?? []) + (residual.map { [$0] } ?? [])
        return Tape.shared.record(.linear(input: x, weight: weight, hasBias: bias != nil, hasResidual: residual != nil),
                                  inputs: inputs, output: out)
    }

    /// x Wᵀ + b + residual without recording: C starts from the bias rows (plus the residual) and the product
    /// accumulates onto it with beta = 1, so OpenBLAS skips its own pass that zeroes C.
    static func linearProduct(_ x: Tensor, weight: Tensor, bias: Tensor?, adding residual: Tensor?) -> Tensor {
        let out = linearOutput(rows: x.count / max(weight.shape[1], 1), leadingShape: Array(x.shape.dropLast()),
                               weight: weight, bias: bias, adding: residual)
        linearAccumulate(x.pointer, rows: 0..<(x.count / max(weight.shape[1], 1)), weight: weight,
                         beta: bias == nil && residual == nil ? 0 : 1, into: out)
        return out
    }

    /// The output of a linear layer before the product: the bias rows plus the residual (uninitialised when neither).
    static func linearOutput(rows: Int, leadingShape: [Int], weight: Tensor, bias: Tensor?, adding residual: Tensor?) -> Tensor {
        let outFeatures = weight.shape[0]
        let shape = leadingShape + [outFeatures]
        if let residual { precondition(residual.shape == shape, "linear: residual shape \(residual.shape) is not the output shape \(shape)") }
        let out = Tensor(uninitializedShape: shape)
        fillLinearOutput(out.storage.pointer, rows: rows, width: outFeatures, bias: bias, residual: residual?.pointer)
        return out
    }

    /// Writes bias (+ residual) into `rows` rows of `width` at `o`, leaving them alone when there is neither; returns
    /// the beta the product onto them takes (1 when something was written, else 0).
    @discardableResult
    static func fillLinearOutput(_ o: UnsafeMutablePointer<Float>, rows: Int, width: Int, bias: Tensor?, residual: UnsafePointer<Float>?) -> Float {
        switch (bias, residual) {
        case (let bias?, let rp?):
            let bp = bias.pointer
            for r in 0..<rows {
                let orow = o + r * width, rrow = rp + r * width
                for j in 0..<width { orow[j] = rrow[j] + bp[j] }
            }
        case (let bias?, nil):
            let bp = bias.pointer
            for r in 0..<rows { (o + r * width).update(from: bp, count: width) }
        case (nil, let rp?):
            o.update(from: rp, count: rows * width)
        case (nil, nil):
            return 0
        }
        return 1
    }

    /// Rows `rows` of `out` (+)= x Wᵀ, where `x` points at the first of those rows.
    static func linearAccumulate(_ x: UnsafePointer<Float>, rows: Range<Int>, weight: Tensor, beta: Float, into out: Tensor) {
        linearAccumulate(x, rows: rows.count, weight: weight, beta: beta, into: out.storage.pointer + rows.lowerBound * weight.shape[0])
    }

    /// `rows` rows at `c` (+)= x Wᵀ.
    static func linearAccumulate(_ x: UnsafePointer<Float>, rows: Int, weight: Tensor, beta: Float, into c: UnsafeMutablePointer<Float>) {
        let inFeatures = weight.shape[1], outFeatures = weight.shape[0]
        BLAS.gemm(transposeA: false, transposeB: true, m: rows, n: outFeatures, k: inFeatures,
                  a: x, lda: inFeatures, b: weight.pointer, ldb: inFeatures, beta: beta, c: c, ldc: outFeatures)
    }
}

/// Backward rules of the matrix products.
enum MatmulGradient {
    static func matmul(a: Tensor, b: Tensor, tA: Bool, tB: Bool, g: Tensor, needs: [Bool]) -> [Tensor?] {
        var da: Tensor? = nil, db: Tensor? = nil
        let geometry = Tensor.matmulGeometry(a.shape, b.shape, tA, tB)
        let (m, k, n) = (geometry.m, geometry.k, geometry.n)
        if needs[0] {
            // dA = dC op(B)ᵀ, or its transpose when A was transposed.
            let result = Tensor(uninitializedShape: a.shape)
            let ldb = b.shape[b.rank - 1]
            let bStride = geometry.bShared ? 0 : k * n
            if geometry.bShared && !tA {
                BLAS.gemm(transposeA: false, transposeB: !tB, m: geometry.batch * m, n: k, k: n,
                          a: g.pointer, lda: n, b: b.pointer, ldb: ldb, c: result.storage.pointer, ldc: k)
            } else {
                for i in 0..<geometry.batch {
                    let gp = g.pointer + i * m * n, bp = b.pointer + i * bStride, rp = result.storage.pointer + i * m * k
                    if !tA {
                        BLAS.gemm(transposeA: false, transposeB: !tB, m: m, n: k, k: n, a: gp, lda: n, b: bp, ldb: ldb, c: rp, ldc: k)
                    } else {
                        // A is [k, m]: dA = op(B) dCᵀ.
                        BLAS.gemm(transposeA: tB, transposeB: true, m: k, n: m, k: n, a: bp, lda: ldb, b: gp, ldb: n, c: rp, ldc: m)
                    }
                }
            }
            da = result
        }
        if needs[1] {
            let result = Tensor(shape: b.shape, repeating: 0)
            let lda = a.shape[a.rank - 1]
            let beta: Float = geometry.bShared ? 1 : 0
            let bStride = geometry.bShared ? 0 : k * n
            if geometry.bShared && !tA {
                // One product over the flattened batch.
                let rows = geometry.batch * m
                if !tB {
                    BLAS.gemm(transposeA: true, transposeB: false, m: k, n: n, k: rows, a: a.pointer, lda: lda, b: g.pointer, ldb: n, c: result.storage.pointer, ldc: n)
                } else {
                    BLAS.gemm(transposeA: true, transposeB: false, m: n, n: k, k: rows, a: g.pointer, lda: n, b: a.pointer, ldb: lda, c: result.storage.pointer, ldc: k)
                }
            } else {
                for i in 0..<geometry.batch {
                    let gp = g.pointer + i * m * n, ap = a.pointer + i * m * k, rp = result.storage.pointer + i * bStride
                    if !tB {
                        // B is [k, n]: dB = op(A)ᵀ dC.
                        BLAS.gemm(transposeA: !tA, transposeB: false, m: k, n: n, k: m, a: ap, lda: lda, b: gp, ldb: n, beta: beta, c: rp, ldc: n)
                    } else {
                        // B is [n, k]: dB = dCᵀ op(A).
                        BLAS.gemm(transposeA: true, transposeB: tA, m: n, n: k, k: m, a: gp, lda: n, b: ap, ldb: lda, beta: beta, c: rp, ldc: k)
                    }
                }
            }
            db = result
        }
        return [da, db]
    }

    /// dx = g W for y = x Wᵀ + b.
    static func linearInputGradient(_ g: Tensor, weight: Tensor, inputShape: [Int]) -> Tensor {
        let inF = weight.shape[1], outF = weight.shape[0], rows = g.count / max(outF, 1)
        let r = Tensor(uninitializedShape: inputShape)
        BLAS.gemm(transposeA: false, transposeB: false, m: rows, n: inF, k: outF,
                  a: g.pointer, lda: outF, b: weight.pointer, ldb: inF, c: r.storage.pointer, ldc: inF)
        return r
    }

    static func linear(x: Tensor, weight: Tensor, hasBias: Bool, g: Tensor, needs: [Bool]) -> [Tensor?] {
        let inF = weight.shape[1], outF = weight.shape[0], rows = x.count / max(inF, 1)
        var dx: Tensor? = nil, dw: Tensor? = nil, db: Tensor? = nil
        if needs[0] { dx = linearInputGradient(g, weight: weight, inputShape: x.shape) }
        if needs[1] {
            let r = Tensor(uninitializedShape: weight.shape)
            BLAS.gemm(transposeA: true, transposeB: false, m: outF, n: inF, k: rows,
                      a: g.pointer, lda: outF, b: x.pointer, ldb: inF, c: r.storage.pointer, ldc: inF)
            dw = r
        }
        if hasBias && needs[2] {
            db = g.reduced(toShape: [outF])
        }
        return hasBias ? [dx, dw, db] : [dx, dw]
    }
}
