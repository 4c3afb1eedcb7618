extension Tensor {
    /// The same values with a new shape; one dimension may be -1 (inferred). No copy.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        if let inferred = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != inferred }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "reshape: cannot reshape \(shape) to \(newShape)")
            resolved[inferred] = count / known
        }
        precondition(resolved.reduce(1, *) == count, "reshape: cannot reshape \(shape) to \(newShape)")
        return Tape.shared.record(.reshape(inputShape: shape), inputs: [self], output: reshapedView(resolved))
    }

    /// Reorders the dimensions: dimension i of the result is dimension `permutation[i]` of `self`.
    public func permuted(_ permutation: [Int]) -> Tensor {
        precondition(permutation.sorted() == Array(0..<rank), "permute: \(permutation) is not a permutation of the axes of \(shape)")
        return Tape.shared.record(.permute(inputShape: shape, permutation: permutation), inputs: [self],
                                  output: permutedValues(permutation))
    }

    /// Swaps the last two dimensions.
    public func transposed() -> Tensor {
        precondition(rank >= 2, "transpose: shape \(shape) has fewer than 2 dimensions")
        var p = Array(0..<rank)
        p.swapAt(rank - 1, rank - 2)
        return permuted(p)
    }

    func permutedValues(_ permutation: [Int]) -> Tensor {
        let outShape = permutation.map { shape[$0] }
        let out = Tensor(uninitializedShape: outShape)
        let o = out.storage.pointer, p = pointer
        if rank >= 2 && permutation == Array(0..<(rank - 2)) + [rank - 1, rank - 2] {
            // Transpose of the last two axes: blocked for cache locality.
            let rows = shape[rank - 2], cols = shape[rank - 1], batch = count / max(rows * cols, 1)
            let block = 32
            for b in 0..<batch {
                let src = p + b * rows * cols, dst = o + b * rows * cols
                for r0 in stride(from: 0, to: rows, by: block) {
                    for c0 in stride(from: 0, to: cols, by: block) {
                        for r in r0..<Swift.min(r0 + block, rows) {
                            for c in c0..<Swift.min(c0 + block, cols) { dst[c * rows + r] = src[r * cols + c] }
                        }
                    }
                }
            }
            return out
        }
        var inStrides = [Int](repeating: 1, count: rank)
        for i in stride(from: rank - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * shape[i + 1] }
        let strides = permutation.map { inStrides[$0] }
        let width = outShape.last ?? 1, step = strides.last ?? 1
        Broadcast.forEachRow(outShape, strides, strides) { oi, ii, _ in
            let orow = o + oi, src = p + ii
            if step == 1 {
                orow.update(from: src, count: width)
            } else {
                for j in 0..<width { orow[j] = src[j * step] }
            }
        }
        return out
    }

    /// Elements `range` along `axis`.
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        let a = normalizedAxis(axis, "slice")
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[a],
                     "slice: range \(range) out of bounds for axis \(a) of shape \(shape)")
        var outShape = shape
        outShape[a] = range.count
        let (outer, length, inner) = split(around: a)
        let out = Tensor(uninitializedShape: outShape)
        let o = out.storage.pointer, p = pointer
        for i in 0..<outer {
            (o + i * range.count * inner).update(from: p + (i * length + range.lowerBound) * inner, count: range.count * inner)
        }
        return Tape.shared.record(.slice(inputShape: shape, axis: a, start: range.lowerBound), inputs: [self], output: out)
    }

    /// Joins `tensors` along `axis`; all other dimensions must agree.
    public static func concatenate(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concatenate: no tensors")
        let first = tensors[0]
        let a = first.normalizedAxis(axis, "concatenate")
        for t in tensors {
            var s1 = t.shape, s0 = first.shape
            precondition(s1.count == s0.count, "concatenate: shapes \(s0) and \(s1) differ in rank")
            s1[a] = 0; s0[a] = 0
            precondition(s1 == s0, "concatenate: shapes \(first.shape) and \(t.shape) differ outside axis \(a)")
        }
        var outShape = first.shape
        outShape[a] = tensors.reduce(0) { $0 + $1.shape[a] }
        let out = Tensor(uninitializedShape: outShape)
        let outer = product(first.shape[..<a]), inner = product(first.shape[(a + 1)...])
        let o = out.storage.pointer
        var start = 0
        for t in tensors {
            let len = t.shape[a], p = t.pointer
            for i in 0..<outer {
                (o + (i * outShape[a] + start) * inner).update(from: p + i * len * inner, count: len * inner)
            }
            start += len
        }
        return Tape.shared.record(.concatenate(axis: a, sizes: tensors.map { $0.shape[a] }), inputs: tensors, output: out)
    }

    /// Repeats `self` along broadcast dimensions to `newShape` (e.g. one class token for every image).
    public func expanded(to newShape: [Int]) -> Tensor {
        let target = Broadcast.shape(shape, newShape, "expand")
        precondition(target == newShape, "expand: shape \(shape) cannot expand to \(newShape)")
        let zero = Tensor(shape: newShape, repeating: 0)
        let out = broadcastBinary(self, zero, "expand") { a, _ in a }
        return Tape.shared.record(.expand(inputShape: shape), inputs: [self], output: out)
    }

    /// Rows `indices` of a 2-D `self` ([rows, width] -> [indices.count, width]); the embedding lookup.
    public func gatherRows(_ indices: [Int32]) -> Tensor {
        precondition(rank == 2, "gatherRows: table shape \(shape) is not 2-D")
        let rows = shape[0], width = shape[1]
        let out = Tensor(uninitializedShape: [indices.count, width])
        let o = out.storage.pointer, p = pointer
        for (i, index) in indices.enumerated() {
            precondition(index >= 0 && Int(index) < rows, "gatherRows: index \(index) out of range for table shape \(shape)")
            (o + i * width).update(from: p + Int(index) * width, count: width)
        }
        return Tape.shared.record(.gatherRows(tableShape: shape, indices: indices), inputs: [self], output: out)
    }
}

extension Tensor {
    /// Scatter-adds the rows of `self` into a zero table of `tableShape` at `indices`: the backward of gatherRows.
    func scatterAddRows(tableShape: [Int], indices: [Int32]) -> Tensor {
        let out = Tensor(shape: tableShape, repeating: 0)
        scatterAddRows(into: out.storage.pointer, width: tableShape[1], indices: indices)
        return out
    }

    /// Adds row i of `self` to row `indices[i]` of the table at `table` (rows of `width`).
    func scatterAddRows(into table: UnsafeMutablePointer<Float>, width: Int, indices: [Int32]) {
        let p = pointer
        for (i, index) in indices.enumerated() {
            let dst = table + Int(index) * width, src = p + i * width
            for j in 0..<width { dst[j] += src[j] }
        }
    }

    /// Places `self` at `start` along `axis` inside zeros of `inputShape`: the backward of a slice.
    func padded(into inputShape: [Int], axis: Int, start: Int) -> Tensor {
        let out = Tensor(shape: inputShape, repeating: 0)
        let outer = product(inputShape[..<axis]), inner = product(inputShape[(axis + 1)...])
        let len = shape[axis], full = inputShape[axis]
        let o = out.storage.pointer, p = pointer
        for i in 0..<outer {
            (o + (i * full + start) * inner).update(from: p + i * len * inner, count: len * inner)
        }
        return out
    }
}
