/// Vectorisable reductions over contiguous floats.
///
/// A serial `s += x[i]` loop cannot be vectorised (float addition is not reassociated), so these keep
/// eight independent partial results, which LLVM maps onto vector registers, and combine them at the end.
/// Besides speed this also improves accuracy over one running sum.
enum Reduce {
    /// Σ x[i].
    @inline(__always) static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0, s4: Float = 0, s5: Float = 0, s6: Float = 0, s7: Float = 0
        var i = 0
        while i + 8 <= n {
            s0 += x[i]; s1 += x[i + 1]; s2 += x[i + 2]; s3 += x[i + 3]
            s4 += x[i + 4]; s5 += x[i + 5]; s6 += x[i + 6]; s7 += x[i + 7]
            i &+= 8
        }
        while i < n { s0 += x[i]; i &+= 1 }
        return ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7))
    }

    /// Σ x[i] accumulated in Double (for sums over very many elements).
    @inline(__always) static func sumDouble(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
        var s0: Double = 0, s1: Double = 0, s2: Double = 0, s3: Double = 0
        var i = 0
        while i + 4 <= n {
            s0 += Double(x[i]); s1 += Double(x[i + 1]); s2 += Double(x[i + 2]); s3 += Double(x[i + 3])
            i &+= 4
        }
        while i < n { s0 += Double(x[i]); i &+= 1 }
        return (s0 + s1) + (s2 + s3)
    }

    /// Σ a[i]·b[i].
    @inline(__always) static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0, s4: Float = 0, s5: Float = 0, s6: Float = 0, s7: Float = 0
        var i = 0
        while i + 8 <= n {
            s0 += a[i] * b[i]; s1 += a[i + 1] * b[i + 1]; s2 += a[i + 2] * b[i + 2]; s3 += a[i + 3] * b[i + 3]
            s4 += a[i + 4] * b[i + 4]; s5 += a[i + 5] * b[i + 5]; s6 += a[i + 6] * b[i + 6]; s7 += a[i + 7] * b[i + 7]
            i &+= 8
        }
        while i < n { s0 += a[i] * b[i]; i &+= 1 }
        return ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7))
    }

    /// Σ a[i]·(x[i] − c); centring before multiplying avoids cancellation when |c| ≫ spread of x.
    @inline(__always) static func dotCentered(_ a: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ c: Float, _ n: Int) -> Float {
        var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0, s4: Float = 0, s5: Float = 0, s6: Float = 0, s7: Float = 0
        var i = 0
        while i + 8 <= n {
            s0 += a[i] * (x[i] - c); s1 += a[i + 1] * (x[i + 1] - c); s2 += a[i + 2] * (x[i + 2] - c); s3 += a[i + 3] * (x[i + 3] - c)
            s4 += a[i + 4] * (x[i + 4] - c); s5 += a[i + 5] * (x[i + 5] - c); s6 += a[i + 6] * (x[i + 6] - c); s7 += a[i + 7] * (x[i + 7] - c)
            i &+= 8
        }
        while i < n { s0 += a[i] * (x[i] - c); i &+= 1 }
        return ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7))
    }

    /// Σ (x[i] − c)², the centred sum of squares for a variance.
    @inline(__always) static func sumSquaredDeviations(_ x: UnsafePointer<Float>, _ c: Float, _ n: Int) -> Float {
        var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0, s4: Float = 0, s5: Float = 0, s6: Float = 0, s7: Float = 0
        var i = 0
        while i + 8 <= n {
            let d0 = x[i] - c, d1 = x[i + 1] - c, d2 = x[i + 2] - c, d3 = x[i + 3] - c
            let d4 = x[i + 4] - c, d5 = x[i + 5] - c, d6 = x[i + 6] - c, d7 = x[i + 7] - c
            s0 += d0 * d0; s1 += d1 * d1; s2 += d2 * d2; s3 += d3 * d3
            s4 += d4 * d4; s5 += d5 * d5; s6 += d6 * d6; s7 += d7 * d7
            i &+= 8
        }
        while i < n { let d = x[i] - c; s0 += d * d; i &+= 1 }
        return ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7))
    }

    /// max x[i] (−∞ for n = 0; NaN elements are skipped).
    @inline(__always) static func max(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var m0 = -Float.infinity, m1 = -Float.infinity, m2 = -Float.infinity, m3 = -Float.infinity
        var m4 = -Float.infinity, m5 = -Float.infinity, m6 = -Float.infinity, m7 = -Float.infinity
        var i = 0
        while i + 8 <= n {
            m0 = x[i] > m0 ? x[i] : m0; m1 = x[i + 1] > m1 ? x[i + 1] : m1
            m2 = x[i + 2] > m2 ? x[i + 2] : m2; m3 = x[i + 3] > m3 ? x[i + 3] : m3
            m4 = x[i + 4] > m4 ? x[i + 4] : m4; m5 = x[i + 5] > m5 ? x[i + 5] : m5
            m6 = x[i + 6] > m6 ? x[i + 6] : m6; m7 = x[i + 7] > m7 ? x[i + 7] : m7
            i &+= 8
        }
        while i < n { m0 = x[i] > m0 ? x[i] : m0; i &+= 1 }
        m0 = m4 > m0 ? m4 : m0; m1 = m5 > m1 ? m5 : m1; m2 = m6 > m2 ? m6 : m2; m3 = m7 > m3 ? m7 : m3
        m0 = m2 > m0 ? m2 : m0; m1 = m3 > m1 ? m3 : m1
        return m1 > m0 ? m1 : m0
    }
}
