/// Vectorised transcendental functions for the elementwise kernels.
///
/// Calling libm per element would make GELU and softmax the bottleneck of a training step, so exp and
/// erf are evaluated eight lanes at a time with polynomial approximations: exp by range reduction to
/// r in [-ln2/2, ln2/2] and a degree-7 Taylor polynomial (relative error < 2e-7), erf by Abramowitz &
/// Stegun 7.1.26 (absolute error < 1.5e-7). Both are far inside the 1e-4 parity tolerances.
public typealias Float8 = SIMD8<Float>

@inline(__always) public func fastExp(_ x: Float8) -> Float8 {
    let clamped = x.clamped(lowerBound: Float8(repeating: -87.0), upperBound: Float8(repeating: 88.0))
    let magic = Float8(repeating: 12_582_912.0)  // 1.5 * 2^23: adding it rounds to an integer in the low bits
    let shifted = clamped * 1.442_695_040_888_963_4 + magic
    let n = shifted - magic
    let r = clamped - n * 0.693_145_751_953_125 - n * 1.428_606_765_330_187_0e-06
    var p = Float8(repeating: 1.0 / 5040.0)
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
    let scale = unsafeBitCast((integer &+ 127) &<< 23, to: Float8.self)
    // Outside the clamp the true result is 0 (masked attention scores of -inf must get exactly zero
    // weight) or overflows; NaN must stay NaN so that a diverging loss is noticed.
    return (p * scale).replacing(with: 0, where: x .< -87.0)
        .replacing(with: .infinity, where: x .> 88.72)
        .replacing(with: x, where: x .!= x)
}

@inline(__always) public func fastExp(_ x: Float) -> Float { fastExp(Float8(repeating: x))[0] }

/// |x| per lane (clears the sign bit).
@inline(__always) public func simdAbs(_ x: Float8) -> Float8 {
    unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: Float8.self)
}

@inline(__always) public func fastErf(_ x: Float8) -> Float8 {
    let a = simdAbs(x)
    let t = 1.0 / (1.0 + 0.327_591_1 * a)
    var p = Float8(repeating: 1.061_405_429)
    p = p * t - 1.453_152_027
    p = p * t + 1.421_413_741
    p = p * t - 0.284_496_736
    p = p * t + 0.254_829_592
    p = p * t
    let y = 1.0 - p * fastExp(-a * a)
    let negative = x .< 0
    return y.replacing(with: -y, where: negative)
}

@inline(__always) public func fastErf(_ x: Float) -> Float { fastErf(Float8(repeating: x))[0] }

/// Applies `vector` to `count` floats eight at a time and `vector` on a padded copy for the tail.
@inline(__always) func mapVectorised(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>,
                                     _ count: Int, _ vector: (Float8) -> Float8) {
    var i = 0
    let raw = UnsafeRawPointer(source)
    let out = UnsafeMutableRawPointer(destination)
    while i + 8 <= count {
        out.storeBytes(of: vector(raw.loadUnaligned(fromByteOffset: i * 4, as: Float8.self)),
                       toByteOffset: i * 4, as: Float8.self)
        i += 8
    }
    if i < count {
        var tail = Float8()
        for j in 0..<(count - i) { tail[j] = source[i + j] }
        let result = vector(tail)
        for j in 0..<(count - i) { destination[i + j] = result[j] }
    }
}

/// Like `mapVectorised` for two inputs of equal length.
@inline(__always) func zipVectorised(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                     _ destination: UnsafeMutablePointer<Float>, _ count: Int,
                                     _ vector: (Float8, Float8) -> Float8) {
    var i = 0
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    let out = UnsafeMutableRawPointer(destination)
    while i + 8 <= count {
        let r = vector(ra.loadUnaligned(fromByteOffset: i * 4, as: Float8.self),
                       rb.loadUnaligned(fromByteOffset: i * 4, as: Float8.self))
        out.storeBytes(of: r, toByteOffset: i * 4, as: Float8.self)
        i += 8
    }
    if i < count {
        var ta = Float8(), tb = Float8()
        for j in 0..<(count - i) { ta[j] = a[i + j]; tb[j] = b[i + j] }
        let result = vector(ta, tb)
        for j in 0..<(count - i) { destination[i + j] = result[j] }
    }
}
