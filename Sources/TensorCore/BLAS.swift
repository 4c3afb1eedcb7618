import COpenBLAS

/// Matrix products and BLAS threading; every matrix product in SwiftCLIP goes through `gemm`.
public enum BLAS {
    /// Number of threads OpenBLAS uses (from `OPENBLAS_NUM_THREADS` unless set here).
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(newValue)) }
    }

    /// C = alpha * op(A) * op(B) + beta * C for row-major matrices; op is a transpose when the flag is set.
    ///
    /// - Parameters: `m`, `n`, `k`: C is m×n and the shared dimension is k; `lda`, `ldb`, `ldc` are the
    ///   row strides of A, B and C as stored, which lets callers read heads or q/k/v slices in place.
    @inline(__always)
    public static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                            alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            if beta == 0 {
                for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) }
            } else if beta != 1 {
                for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } }
            }
            return
        }
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
