/// Vectorised reductions over contiguous floats.
///
/// A serial `s += x[i]` loop cannot be vectorised (float addition is not reassociated), so these keep
/// 32 independent partial results in four SIMD8 registers (four, so that consecutive adds do not wait on each
/// other's latency) and combine them at the end in a fixed order. Besides speed this also improves accuracy
/// over one running sum. Leftover blocks of 8 join the first register, single elements its lane 0.
enum Reduce {
    /// Σ x[i].
    @inline(__always) static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var s = Float8(), t = Float8(), u = Float8(), v = Float8()
        var i = 0
        while i &+ 32 <= n {
            s += load8(x, i); t += load8(x, i &+ 8); u += load8(x, i &+ 16); v += load8(x, i &+ 24)
            i &+= 32
        }
        while i &+ 8 <= n { s += load8(x, i); i &+= 8 }
        while i < n { s[0] += x[i]; i &+= 1 }
        return combine((s + t) + (u + v))
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
        var s = Float8(), t = Float8(), u = Float8(), v = Float8()
        var i = 0
        while i &+ 32 <= n {
            s = mulAdd(load8(a, i), load8(b, i), s)
            t = mulAdd(load8(a, i &+ 8), load8(b, i &+ 8), t)
            u = mulAdd(load8(a, i &+ 16), load8(b, i &+ 16), u)
            v = mulAdd(load8(a, i &+ 24), load8(b, i &+ 24), v)
            i &+= 32
        }
        while i &+ 8 <= n { s = mulAdd(load8(a, i), load8(b, i), s); i &+= 8 }
        while i < n { s[0] = mulAdd(a[i], b[i], s[0]); i &+= 1 }
        return combine((s + t) + (u + v))
    }

    /// Σ a[i]·(x[i] − c); centring before multiplying avoids cancellation when |c| ≫ spread of x.
    @inline(__always) static func dotCentered(_ a: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ c: Float, _ n: Int) -> Float {
        let c8 = Float8(repeating: c)
        var s = Float8(), t = Float8(), u = Float8(), v = Float8()
        var i = 0
        while i &+ 32 <= n {
            s = mulAdd(load8(a, i), load8(x, i) - c8, s)
            t = mulAdd(load8(a, i &+ 8), load8(x, i &+ 8) - c8, t)
            u = mulAdd(load8(a, i &+ 16), load8(x, i &+ 16) - c8, u)
            v = mulAdd(load8(a, i &+ 24), load8(x, i &+ 24) - c8, v)
            i &+= 32
        }
        while i &+ 8 <= n { s = mulAdd(load8(a, i), load8(x, i) - c8, s); i &+= 8 }
        while i < n { s[0] = mulAdd(a[i], x[i] - c, s[0]); i &+= 1 }
        return combine((s + t) + (u + v))
    }

    /// Σ (x[i] − c)², the centred sum of squares for a variance.
    @inline(__always) static func sumSquaredDeviations(_ x: UnsafePointer<Float>, _ c: Float, _ n: Int) -> Float {
        let c8 = Float8(repeating: c)
        var s = Float8(), t = Float8(), u = Float8(), v = Float8()
        var i = 0
        while i &+ 32 <= n {
            let d0 = load8(x, i) - c8, d1 = load8(x, i &+ 8) - c8, d2 = load8(x, i &+ 16) - c8, d3 = load8(x, i &+ 24) - c8
            s = mulAdd(d0, d0, s); t = mulAdd(d1, d1, t); u = mulAdd(d2, d2, u); v = mulAdd(d3, d3, v)
            i &+= 32
        }
        while i &+ 8 <= n { let d = load8(x, i) - c8; s = mulAdd(d, d, s); i &+= 8 }
        while i < n { let d = x[i] - c; s[0] = mulAdd(d, d, s[0]); i &+= 1 }
        return combine((s + t) + (u + v))
    }

    /// max x[i] (−∞ for n = 0; NaN elements are skipped).
    @inline(__always) static func max(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var m = Float8(repeating: -.infinity)
        var i = 0
        while i &+ 8 <= n { let v = load8(x, i); m = m.replacing(with: v, where: v .> m); i &+= 8 }
        while i < n { if x[i] > m[0] { m[0] = x[i] }; i &+= 1 }
        var best = m[0]
        for lane in 1..<8 where m[lane] > best { best = m[lane] }
        return best
    }

    /// The lanes' sum in a fixed order, ((0+4)+(1+5)) + ((2+6)+(3+7)), the same on every machine.
    @inline(__always) static func combine(_ s: Float8) -> Float {
        ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]))
    }
}

/// Eight floats from `p + i`, any alignment.
@inlinable @inline(__always) public func load8(_ p: UnsafePointer<Float>, _ i: Int) -> Float8 {
    UnsafeRawPointer(p).loadUnaligned(fromByteOffset: i &* 4, as: Float8.self)
}

/// Stores eight floats at `p + i`, any alignment.
@inlinable @inline(__always) public func store8(_ v: Float8, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, toByteOffset: i &* 4, as: Float8.self)
}

extension Kernels {
    /// destination[i] += source[i] for `count` values.
    @inline(__always) static func add(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { destination[i] += source[i] }
    }

    /// Adds each of `rows` rows of `width` to `sums` (a bias gradient): row-wise adds that vectorise, no reduction chain.
    @inline(__always) static func addRows(_ source: UnsafePointer<Float>, rows: Int, width: Int, into sums: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { add(source + r * width, into: sums, count: width) }
    }
}
