/// Fast transcendental functions for the element-wise kernels.
///
/// Calling libm per element would make GELU and softmax the bottleneck of a training step. These are
/// branch-free scalar functions built from multiplies, adds, selects and integer bit operations only,
/// so that a plain loop over pointers that calls them is auto-vectorised by LLVM; loops that also reduce (which
/// LLVM does not vectorise from scalar code) use whole-vector SIMD8 operations instead. Polynomials are written with
/// `mulAdd`, one FMA instruction each where the target has it. exp uses range reduction to r in [-ln2/2, ln2/2]
/// and Cephes' minimax form (relative error about 1 ulp); erf uses Eigen's rational form, or Abramowitz & Stegun
/// 7.1.26 when e^(−x²) is already at hand (absolute error < 1.5e-7). All are far inside the 1e-4 parity tolerances.
public typealias Float8 = SIMD8<Float>

/// e^x with relative error < 2e-7; 0 below -87.3 (where the true value is subnormal), +inf above ln(FLT_MAX).
///
/// The input is clamped to [-87.3, 88.8]; above 88.72 the product with 2¹²⁸ overflows to +inf by itself,
/// and NaN passes both clamps (its comparisons are false) and flows through the polynomial, so the
/// only select besides the clamps is the flush to zero at the bottom.
@inline(__always) public func fastExp(_ x: Float) -> Float {
    let high = x > 88.8 ? 88.8 : x
    let clamped = high < -87.3 ? -87.3 : high
    let (p, shifted) = expReduced(clamped)
    let integer = exponent(shifted)
    // 2ⁿ as two factors so that n = 128 (x near the top of the range) is representable.
    let half = integer >> 1
    let scale1 = Float(bitPattern: UInt32(bitPattern: (half &+ 127) &<< 23))
    let scale2 = Float(bitPattern: UInt32(bitPattern: (integer &- half &+ 127) &<< 23))
    let result = p * scale1 * scale2
    return x < -87.3 ? 0 : result
}

/// e^x for x ≤ 0 (softmax after subtracting the row maximum): the same polynomial as `fastExp` without the
/// overflow handling, so the scale 2ⁿ is one factor; below −87.3 the result flushes to 0.
@inline(__always) public func fastExpNonPositive(_ x: Float) -> Float {
    let clamped = x < -87.3 ? -87.3 : x
    let (p, shifted) = expReduced(clamped)
    let result = p * Float(bitPattern: UInt32(bitPattern: (exponent(shifted) &+ 127) &<< 23))
    return x < -87.3 ? 0 : result
}

/// Float and SIMD8<Float>: the types the kernels (and AdamW) write once for one lane and for eight.
public protocol MultiplyAddable {
    static func * (a: Self, b: Self) -> Self
    static func + (a: Self, b: Self) -> Self
    static func - (a: Self, b: Self) -> Self
    static func / (a: Self, b: Self) -> Self
    func addingProduct(_ a: Self, _ b: Self) -> Self
    func squareRoot() -> Self
    /// The value, or every lane set to it.
    init(splat value: Float)
}

extension Float: MultiplyAddable {
    @inlinable public init(splat value: Float) { self = value }
}

extension SIMD8: MultiplyAddable where Scalar == Float {
    @inlinable public init(splat value: Float) { self.init(repeating: value) }
}

/// a·b + c, fused into one instruction (one rounding) where the target has FMA, else a multiply and an add.
@inline(__always) func mulAdd<T: MultiplyAddable>(_ a: T, _ b: T, _ c: T) -> T {
    #if SWIFTCLIP_FMA
    return c.addingProduct(a, b)
    #else
    return a * b + c
    #endif
}

/// e^x = 2ⁿ · e^r for x in the clamped range: returns e^r and n + 1.5 · 2²³ (n in its low mantissa bits).
///
/// n = round(x / ln2) by the magic-number trick (adding 1.5 · 2²³ rounds to an integer held in the low mantissa
/// bits); r = x − n·ln2 with ln2 split in two for an exact first product. e^r on |r| ≤ ln2/2 is Cephes' minimax
/// form 1 + r + r²·P(r), P of degree 5 (about 1 ulp), two multiply-adds fewer than the degree-7 Taylor series.
/// Written once for Float and SIMD8; callers turn the shifted value into the scale 2ⁿ with integer operations.
@inline(__always) func expReduced<T: MultiplyAddable>(_ x: T) -> (expR: T, shifted: T) {
    let magic = T(splat: 12_582_912.0)
    let shifted = mulAdd(x, T(splat: 1.442_695_040_888_963_4), magic)
    let n = shifted - magic
    let r = mulAdd(n, T(splat: -1.428_606_765_330_187_0e-06), mulAdd(n, T(splat: -0.693_145_751_953_125), x))
    let r2 = r * r
    let c01 = mulAdd(r, T(splat: 1.666_666_545_9e-1), T(splat: 5.000_000_120_1e-1))
    let c23 = mulAdd(r, T(splat: 8.333_451_907_3e-3), T(splat: 4.166_579_589_4e-2))
    let c45 = mulAdd(r, T(splat: 1.987_569_150_0e-4), T(splat: 1.398_199_950_7e-3))
    return (mulAdd(r2, mulAdd(r2, mulAdd(r2, c45, c23), c01), T(splat: 1) + r), shifted)
}

/// n from `expReduced`'s shifted value.
@inline(__always) func exponent(_ shifted: Float) -> Int32 {
    Int32(bitPattern: shifted.bitPattern) &- Int32(bitPattern: Float(12_582_912.0).bitPattern)
}

/// erf(x) with absolute error < 2e-7: x·P(x²)/Q(x²) on x clamped to [-4, 4] (erf is ±1 in float beyond), the
/// odd/even minimax rational form used by Eigen and XLA. No exponential, one division: the cheapest exact-GELU
/// building block, which keeps GELU near memory speed.
@inline(__always) public func fastErf(_ x: Float) -> Float {
    let c = Swift.min(Swift.max(x, -4), 4)
    let z = c * c
    var p: Float = -2.726_142_258_013_06e-10
    p = mulAdd(p, z, 2.770_681_424_959_02e-08)
    p = mulAdd(p, z, -2.101_024_020_825_08e-06)
    p = mulAdd(p, z, -5.692_506_394_623_46e-05)
    p = mulAdd(p, z, -7.349_906_303_268_55e-04)
    p = mulAdd(p, z, -2.954_599_808_540_25e-03)
    p = mulAdd(p, z, -1.609_603_332_624_15e-02)
    var q: Float = -1.456_607_184_649_96e-05
    q = mulAdd(q, z, -2.133_740_552_789_05e-04)
    q = mulAdd(q, z, -1.682_826_974_382_03e-03)
    q = mulAdd(q, z, -7.373_329_167_204_68e-03)
    q = mulAdd(q, z, -1.426_473_905_141_89e-02)
    return c * p / q
}

/// GELU in its exact form, x/2 · (1 + erf(x/√2)).
@inline(__always) func geluValue(_ x: Float) -> Float {
    let half = 0.5 * x
    return mulAdd(half, fastErf(x * 0.707_106_781_186_547_5), half)
}

/// GELU and its derivative from one erf: the forward value bit for bit as `geluValue`, and
/// d GELU / dx = Φ(x) + x·φ(x) with Φ(x) = (1 + erf(x/√2)) / 2, for backward passes that need both.
@inline(__always) func geluValueAndDerivative(_ x: Float) -> (value: Float, derivative: Float) {
    let half = 0.5 * x
    let e = fastErf(x * 0.707_106_781_186_547_5)
    let density = 0.398_942_280_401_432_7 * fastExp(-half * x)
    return (mulAdd(half, e, half), mulAdd(x, density, mulAdd(0.5, e, 0.5)))
}

/// QuickGELU and its derivative from one exponential (the value bit for bit as `quickGELUValue`).
@inline(__always) func quickGELUValueAndDerivative(_ x: Float) -> (value: Float, derivative: Float) {
    let denominator = 1 + fastExp(-1.702 * x)
    let s = 1 / denominator
    return (x / denominator, s * mulAdd(1.702 * x, 1 - s, 1))
}

/// QuickGELU, x · σ(1.702x).
@inline(__always) func quickGELUValue(_ x: Float) -> Float { x / (1 + fastExp(-1.702 * x)) }

/// e^x for eight lanes with x ≤ 0: `fastExpNonPositive` written on SIMD8 values, for fused loops that also
/// reduce (the softmax row's exp-and-sum), which LLVM does not vectorise from scalar code.
@inline(__always) func fastExpNonPositive(_ x: Float8) -> Float8 {
    let low = Float8(repeating: -87.3)
    let (p, shifted) = expReduced(x.replacing(with: low, where: x .< low))
    let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- SIMD8<Int32>(repeating: Int32(bitPattern: Float(12_582_912.0).bitPattern))
    let scale = unsafeBitCast((integer &+ 127) &<< 23, to: Float8.self)
    return (p * scale).replacing(with: 0, where: x .< low)
}

/// destination[i] = f(source[i]); a plain loop that LLVM vectorises once `f` is inlined.
@inline(__always) func mapElements(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>,
                                   _ count: Int, _ f: (Float) -> Float) {
    for i in 0..<count { destination[i] = f(source[i]) }
}

/// destination[i] = f(a[i], b[i]).
@inline(__always) func zipElements(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                   _ destination: UnsafeMutablePointer<Float>, _ count: Int,
                                   _ f: (Float, Float) -> Float) {
    for i in 0..<count { destination[i] = f(a[i], b[i]) }
}

/// The MLP activation of `count` values into `a` (GELU, or QuickGELU with `quick`); with `d`, also d *= act'(x),
/// sharing the erf or exponential the two need. `x` and `a` may be the same buffer.
@inline(__always) func activationPass(_ x: UnsafePointer<Float>, _ a: UnsafeMutablePointer<Float>, scaling d: UnsafeMutablePointer<Float>?,
                                      _ count: Int, quick: Bool) {
    guard let d else {
        if quick { mapElements(x, a, count) { quickGELUValue($0) } } else { mapElements(x, a, count) { geluValue($0) } }
        return
    }
    @inline(__always) func pass(_ f: (Float) -> (value: Float, derivative: Float)) {
        for i in 0..<count {
            let (value, derivative) = f(x[i])
            a[i] = value
            d[i] *= derivative
        }
    }
    if quick { pass(quickGELUValueAndDerivative) } else { pass(geluValueAndDerivative) }
}
