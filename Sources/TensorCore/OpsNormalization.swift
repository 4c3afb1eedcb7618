import Foundation

extension Tensor {
    /// Softmax over the last axis.
    public func softmax() -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        let width = shape.last ?? 1
        for row in 0..<(count / max(width, 1)) {
            Kernels.softmaxRow(pointer + row * width, out.storage.pointer + row * width, width)
        }
        return Tape.shared.record(.softmax(output: out), inputs: [self], output: out)
    }

    /// Log-softmax over the last axis.
    public func logSoftmax() -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        let width = shape.last ?? 1
        for row in 0..<(count / max(width, 1)) {
            Kernels.logSoftmaxRow(pointer + row * width, out.storage.pointer + row * width, width)
        }
        return Tape.shared.record(.logSoftmax(output: out), inputs: [self], output: out)
    }

    /// Layer normalisation over the last axis with affine `weight` and `bias` (PyTorch's `F.layer_norm`).
    public func layerNorm(weight: Tensor, bias: Tensor, epsilon: Float = 1e-5) -> Tensor {
        let width = shape.last ?? 0
        precondition(weight.shape == [width] && bias.shape == [width],
                     "layerNorm: input shape \(shape) with weight \(weight.shape) and bias \(bias.shape)")
        let rows = count / max(width, 1)
        let out = Tensor(uninitializedShape: shape)
        let mean = Tensor(uninitializedShape: [rows]), inverseStd = Tensor(uninitializedShape: [rows])
        Kernels.layerNormForward(pointer, weight.pointer, bias.pointer, out.storage.pointer,
                                 mean.storage.pointer, inverseStd.storage.pointer, rows, width, epsilon)
        return Tape.shared.record(.layerNorm(input: self, weight: weight, mean: mean, inverseStd: inverseStd),
                                  inputs: [self, weight, bias], output: out)
    }

    /// Divides each row (last axis) by its L2 norm, clamped below at `epsilon` (PyTorch's `F.normalize`).
    public func l2Normalized(epsilon: Float = 1e-12) -> Tensor {
        let width = shape.last ?? 1, rows = count / max(width, 1)
        let out = Tensor(uninitializedShape: shape), norms = Tensor(uninitializedShape: [rows])
        let p = pointer, o = out.storage.pointer, np = norms.storage.pointer
        for r in 0..<rows {
            let pr = p + r * width, or = o + r * width
            let norm = Swift.max(Reduce.dot(pr, pr, width).squareRoot(), epsilon)
            np[r] = norm
            let inv = 1 / norm
            for j in 0..<width { or[j] = pr[j] * inv }
        }
        return Tape.shared.record(.l2Normalize(output: out, norms: norms), inputs: [self], output: out)
    }

    /// Mean cross-entropy of the rows of `self` (logits [N, C]) against integer `labels`, fused with log-softmax.
    public func crossEntropy(labels: [Int32]) -> Tensor {
        precondition(rank == 2 && shape[0] == labels.count, "crossEntropy: logits shape \(shape) with \(labels.count) labels")
        let (rows, classes) = (shape[0], shape[1])
        let probabilities = Tensor(uninitializedShape: shape)
        var loss: Double = 0
        for r in 0..<rows {
            let label = Int(labels[r])
            precondition(label >= 0 && label < classes, "crossEntropy: label \(label) out of range for \(classes) classes")
            let logProbRow = probabilities.storage.pointer + r * classes
            Kernels.logSoftmaxRow(pointer + r * classes, logProbRow, classes)
            loss -= Double(logProbRow[label])
            mapElements(logProbRow, logProbRow, classes) { fastExp($0) }
        }
        let out = Tensor(scalar: Float(loss / Double(Swift.max(rows, 1))))
        return Tape.shared.record(.crossEntropy(probabilities: probabilities, labels: labels), inputs: [self], output: out)
    }
}

/// Row kernels shared by the softmax family, layer norm and their backward rules.
public enum Kernels {
    /// Σ x², on four eight-lane accumulators (a scalar loop is one dependency chain of adds).
    public static func sumOfSquares(_ x: UnsafePointer<Float>, _ n: Int) -> Float { Reduce.dot(x, x, n) }

    /// Softmax of one row; `x` and `y` may be the same buffer. A row of only -inf gives zeros.
    ///
    /// Three passes over a row that stays in L1: the maximum, the exponentials fused with their sum (on SIMD8
    /// values, since LLVM does not vectorise a float reduction written as a scalar loop), and the scaling.
    /// Returns the row's maximum and reciprocal sum, from which `softmaxRow(_:_:_:maximum:inverseSum:)` gives
    /// the same values again.
    @inline(__always) @discardableResult
    public static func softmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) -> (maximum: Float, inverseSum: Float) {
        var m = Reduce.max(x, n)
        if m == -.infinity { m = 0 }
        let shift = Float8(repeating: m)
        var sum8 = Float8()
        var i = 0
        while i &+ 8 <= n {
            let e = fastExpNonPositive(load8(x, i) - shift)
            store8(e, y, i)
            sum8 += e
            i &+= 8
        }
        while i < n { y[i] = fastExpNonPositive(x[i] - m); sum8[0] += y[i]; i &+= 1 }
        let s = Reduce.combine(sum8)
        let inv = s > 0 ? 1 / s : 0
        for j in 0..<n { y[j] *= inv }
        return (m, inv)
    }

    /// Softmax of one row from its maximum and reciprocal sum (as the other `softmaxRow` returned them): one pass,
    /// bit for bit the same values.
    @inline(__always)
    public static func softmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, maximum m: Float, inverseSum inv: Float) {
        let shift = Float8(repeating: m), scale = Float8(repeating: inv)
        var i = 0
        while i &+ 8 <= n { store8(fastExpNonPositive(load8(x, i) - shift) * scale, y, i); i &+= 8 }
        while i < n { y[i] = fastExpNonPositive(x[i] - m) * inv; i &+= 1 }
    }

    /// The gradient of one softmax row, y ⊙ (dy − y·dy), from its output `y`; `dx` may be `dy`'s buffer.
    @inline(__always)
    public static func softmaxBackwardRow(_ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ n: Int) {
        let dot = Reduce.dot(dy, y, n)
        for j in 0..<n { dx[j] = y[j] * (dy[j] - dot) }
    }

    /// Log-softmax of one row; `x` and `y` may be the same buffer.
    @inline(__always)
    public static func logSoftmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        let m = Reduce.max(x, n)
        mapElements(x, y, n) { fastExp($0 - m) }  // y holds the shifted exponentials until the last loop
        let logSum = m + Float(Foundation.log(Double(Reduce.sum(y, n))))
        mapElements(x, y, n) { $0 - logSum }
    }

    /// Layer norm forward over `rows` rows of `width`; saves per-row mean and 1/std for the backward pass.
    public static func layerNormForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                        _ y: UnsafeMutablePointer<Float>, _ meanOut: UnsafeMutablePointer<Float>,
                                        _ rstdOut: UnsafeMutablePointer<Float>, _ rows: Int, _ width: Int, _ eps: Float) {
        for r in 0..<rows {
            let xr = x + r * width, yr = y + r * width
            let mean = Reduce.sum(xr, width) / Float(width)
            // Two passes (mean, then centred squares) avoid the cancellation of E[x²] − E[x]².
            let variance = Reduce.sumSquaredDeviations(xr, mean, width) / Float(width)
            let rstd = 1 / (variance + eps).squareRoot()
            applyRow(xr, w, b, mean, rstd, yr, width)
            meanOut[r] = mean
            rstdOut[r] = rstd
        }
    }

    /// Layer norm output from saved row statistics (the backward pass of a fused linear recomputes it this way).
    public static func layerNormApply(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                      _ mean: UnsafePointer<Float>, _ rstd: UnsafePointer<Float>,
                                      _ y: UnsafeMutablePointer<Float>, _ rows: Int, _ width: Int) {
        for r in 0..<rows { applyRow(x + r * width, w, b, mean[r], rstd[r], y + r * width, width) }
    }

    /// y = (x − mean) · rstd · w + b for one row.
    @inline(__always)
    static func applyRow(_ xr: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                         _ mean: Float, _ rstd: Float, _ yr: UnsafeMutablePointer<Float>, _ width: Int) {
        let mean8 = Float8(repeating: mean), rstd8 = Float8(repeating: rstd)
        var j = 0
        while j &+ 8 <= width { store8(mulAdd((load8(xr, j) - mean8) * rstd8, load8(w, j), load8(b, j)), yr, j); j &+= 8 }
        while j < width { yr[j] = mulAdd((xr[j] - mean) * rstd, w[j], b[j]); j &+= 1 }
    }

    /// Layer norm backward; accumulates dweight and dbias (callers zero them) and writes dx when given.
    public static func layerNormBackward(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                                         _ mean: UnsafePointer<Float>, _ rstd: UnsafePointer<Float>,
                                         _ dx: UnsafeMutablePointer<Float>?, _ dw: UnsafeMutablePointer<Float>,
                                         _ db: UnsafeMutablePointer<Float>, _ rows: Int, _ width: Int) {
        for r in 0..<rows {
            let dyr = dy + r * width, xr = x + r * width
            let m = mean[r], s = rstd[r]
            // Element-wise accumulation first (vectorises), then the two row sums as separate reductions.
            for j in 0..<width {
                let xhat = (xr[j] - m) * s
                dw[j] += dyr[j] * xhat
                db[j] += dyr[j]
            }
            guard let dx else { continue }
            let dxr = dx + r * width
            // dxr temporarily holds g = dy ⊙ w.
            for j in 0..<width { dxr[j] = dyr[j] * w[j] }
            let sumG = Reduce.sum(dxr, width)
            let sumGXhat = s * Reduce.dotCentered(dxr, xr, m, width)
            let meanG = sumG / Float(width), meanGX = sumGXhat / Float(width)
            for j in 0..<width {
                let xhat = (xr[j] - m) * s
                dxr[j] = s * (dxr[j] - meanG - xhat * meanGX)
            }
        }
    }
}
