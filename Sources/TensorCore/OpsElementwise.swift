import Foundation

/// Applies `f` element-wise with broadcasting; fast paths cover equal shapes, scalars and bias rows.
@inline(__always)
func broadcastBinary(_ a: Tensor, _ b: Tensor, _ name: String, _ f: (Float, Float) -> Float) -> Tensor {
    let outShape = a.shape == b.shape ? a.shape : Broadcast.shape(a.shape, b.shape, name)
    let out = Tensor(uninitializedShape: outShape)
    let o = out.storage.pointer, pa = a.pointer, pb = b.pointer
    let n = out.count
    switch (Broadcast.pattern(of: a.shape, in: outShape), Broadcast.pattern(of: b.shape, in: outShape)) {
    case (.same, .same):
        for i in 0..<n { o[i] = f(pa[i], pb[i]) }
    case (.same, .scalar):
        let s = pb[0]
        for i in 0..<n { o[i] = f(pa[i], s) }
    case (.scalar, .same):
        let s = pa[0]
        for i in 0..<n { o[i] = f(s, pb[i]) }
    case (.same, .trailing(let block)):
        // Row pointers instead of base + j indices: overflow-checked index arithmetic blocks vectorisation.
        for row in 0..<(n / block) {
            let orow = o + row * block, arow = pa + row * block
            for j in 0..<block { orow[j] = f(arow[j], pb[j]) }
        }
    case (.trailing(let block), .same):
        for row in 0..<(n / block) {
            let orow = o + row * block, brow = pb + row * block
            for j in 0..<block { orow[j] = f(pa[j], brow[j]) }
        }
    default:
        // Rows along the last axis, with each operand either contiguous or repeated along it.
        let sa = Broadcast.strides(of: a.shape, in: outShape), sb = Broadcast.strides(of: b.shape, in: outShape)
        let width = outShape.last ?? 1
        switch (sa.last == 1, sb.last == 1) {
        case (true, true):
            Broadcast.forEachRow(outShape, sa, sb) { oi, ai, bi in
                let orow = o + oi, arow = pa + ai, brow = pb + bi
                for j in 0..<width { orow[j] = f(arow[j], brow[j]) }
            }
        case (true, false):
            Broadcast.forEachRow(outShape, sa, sb) { oi, ai, bi in
                let orow = o + oi, arow = pa + ai, s = pb[bi]
                for j in 0..<width { orow[j] = f(arow[j], s) }
            }
        case (false, true):
            Broadcast.forEachRow(outShape, sa, sb) { oi, ai, bi in
                let orow = o + oi, s = pa[ai], brow = pb + bi
                for j in 0..<width { orow[j] = f(s, brow[j]) }
            }
        case (false, false):
            Broadcast.forEachRow(outShape, sa, sb) { oi, ai, bi in
                let orow = o + oi, sA = pa[ai], sB = pb[bi]
                for j in 0..<width { orow[j] = f(sA, sB) }
            }
        }
    }
    return out
}

/// Applies `f` to every element.
@inline(__always)
func unary(_ x: Tensor, _ f: (Float) -> Float) -> Tensor {
    let out = Tensor(uninitializedShape: x.shape)
    mapElements(x.pointer, out.storage.pointer, x.count, f)
    return out
}

extension Tensor {
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        Tape.shared.record(.add(lhsShape: a.shape, rhsShape: b.shape), inputs: [a, b],
                           output: broadcastBinary(a, b, "add") { $0 + $1 })
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        Tape.shared.record(.subtract(lhsShape: a.shape, rhsShape: b.shape), inputs: [a, b],
                           output: broadcastBinary(a, b, "subtract") { $0 - $1 })
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        Tape.shared.record(.multiply(lhs: a, rhs: b), inputs: [a, b], output: broadcastBinary(a, b, "multiply") { $0 * $1 })
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        Tape.shared.record(.divide(lhs: a, rhs: b), inputs: [a, b], output: broadcastBinary(a, b, "divide") { $0 / $1 })
    }

    public static func * (a: Tensor, c: Float) -> Tensor { a.scaled(by: c) }
    public static func * (c: Float, a: Tensor) -> Tensor { a.scaled(by: c) }
    public static func + (a: Tensor, c: Float) -> Tensor {
        Tape.shared.record(.addScalar, inputs: [a], output: unary(a) { $0 + c })
    }
    public static func - (a: Tensor, c: Float) -> Tensor { a + (-c) }
    public static prefix func - (a: Tensor) -> Tensor { a.scaled(by: -1) }

    /// Every element multiplied by the constant `c`.
    public func scaled(by c: Float) -> Tensor {
        Tape.shared.record(.scale(c), inputs: [self], output: unary(self) { $0 * c })
    }

    public func exp() -> Tensor {
        let out = unary(self) { fastExp($0) }
        return Tape.shared.record(.exp(output: out), inputs: [self], output: out)
    }

    public func log() -> Tensor {
        Tape.shared.record(.log(input: self), inputs: [self], output: unary(self) { Foundation.log($0) })
    }

    public func sqrt() -> Tensor {
        let out = unary(self) { $0.squareRoot() }
        return Tape.shared.record(.sqrt(output: out), inputs: [self], output: out)
    }

    public func tanh() -> Tensor {
        let out = unary(self) { x in
            let e = fastExp(-2 * Swift.abs(x))
            let t = (1 - e) / (1 + e)
            return x < 0 ? -t : t
        }
        return Tape.shared.record(.tanh(output: out), inputs: [self], output: out)
    }

    public func sigmoid() -> Tensor {
        let out = unary(self) { x in 1 / (1 + fastExp(-x)) }
        return Tape.shared.record(.sigmoid(output: out), inputs: [self], output: out)
    }

    /// log(sigmoid(x)), computed without overflow as min(x, 0) - log1p(exp(-|x|)).
    public func logSigmoid() -> Tensor {
        Tape.shared.record(.logSigmoid(input: self), inputs: [self],
                           output: unary(self) { x in Swift.min(x, 0) - Foundation.log1p(Foundation.exp(-Swift.abs(x))) })
    }

    public func relu() -> Tensor {
        Tape.shared.record(.relu(input: self), inputs: [self], output: unary(self) { Swift.max($0, 0) })
    }

    /// GELU in its exact form, x/2 · (1 + erf(x/√2)) (OpenCLIP's `nn.GELU()`, not QuickGELU).
    public func gelu() -> Tensor {
        let out = unary(self) { geluValue($0) }
        return Tape.shared.record(.gelu(input: self), inputs: [self], output: out)
    }
}

/// Backward kernels of the element-wise operations.
enum ElementwiseGradient {
    /// d gelu / dx = Φ(x) + x φ(x).
    static func gelu(input: Tensor, outputGradient g: Tensor) -> Tensor {
        let out = Tensor(uninitializedShape: input.shape)
        zipElements(input.pointer, g.pointer, out.storage.pointer, input.count) { x, dy in dy * geluValueAndDerivative(x).derivative }
        return out
    }
}
