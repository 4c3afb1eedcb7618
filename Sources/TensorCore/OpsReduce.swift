extension Tensor {
    /// Splits the shape around `axis` into (outer, length, inner) for loops over a contiguous layout.
    func split(around axis: Int) -> (outer: Int, length: Int, inner: Int) {
        (product(shape[..<axis]), shape[axis], product(shape[(axis + 1)...]))
    }

    func normalizedAxis(_ axis: Int, _ name: String) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < rank, "\(name): axis \(axis) out of range for shape \(shape)")
        return a
    }

    /// Sum over `axis` (removing it), or over every element when `axis` is nil (a 0-d result).
    public func sum(axis: Int? = nil) -> Tensor {
        Tape.shared.record(.sum(inputShape: shape, axis: axis.map { normalizedAxis($0, "sum") }), inputs: [self],
                           output: sumValues(axis: axis.map { normalizedAxis($0, "sum") }))
    }

    /// Mean over `axis` (removing it), or over every element when `axis` is nil.
    public func mean(axis: Int? = nil) -> Tensor {
        let a = axis.map { normalizedAxis($0, "mean") }
        let n = a.map { shape[$0] } ?? count
        let s = sumValues(axis: a)
        let out = unary(s) { $0 / Float(n) }
        return Tape.shared.record(.mean(inputShape: shape, axis: a), inputs: [self], output: out)
    }

    func sumValues(axis: Int?) -> Tensor {
        guard let axis else {
            // A long float sum loses digits; accumulate in double.
            return Tensor(scalar: Float(Reduce.sumDouble(pointer, count)))
        }
        var outShape = shape
        outShape.remove(at: axis)
        let (outer, length, inner) = split(around: axis)
        let out = Tensor(shape: outShape, repeating: 0)
        let o = out.storage.pointer, p = pointer
        if inner == 1 {
            // Sum over the last axis: one contiguous reduction per row.
            for i in 0..<outer { o[i] = Reduce.sum(p + i * length, length) }
            return out
        }
        for i in 0..<outer {
            let dst = o + i * inner
            for l in 0..<length {
                let src = p + (i * length + l) * inner
                for j in 0..<inner { dst[j] += src[j] }
            }
        }
        return out
    }

    /// Repeats `self` (shape without `axis`) `length` times along a new `axis`: the backward of a sum.
    func repeated(alongNewAxis axis: Int, length: Int, scale: Float) -> Tensor {
        var outShape = shape
        outShape.insert(length, at: axis)
        let outer = product(shape[..<axis]), inner = product(shape[axis...])
        let out = Tensor(uninitializedShape: outShape)
        let o = out.storage.pointer, p = pointer
        if inner == 1 {
            for i in 0..<outer { (o + i * length).initialize(repeating: p[i] * scale, count: length) }
            return out
        }
        for i in 0..<outer {
            for l in 0..<length {
                let dst = o + (i * length + l) * inner, src = p + i * inner
                for j in 0..<inner { dst[j] = src[j] * scale }
            }
        }
        return out
    }
}
