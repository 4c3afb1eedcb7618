/// Shape arithmetic for NumPy-style broadcasting.
enum Broadcast {
    /// The broadcast shape of `a` and `b`; a precondition failure names both shapes when they do not fit.
    static func shape(_ a: [Int], _ b: [Int], _ opName: String) -> [Int] {
        if let message = mismatch(a, b, op: opName) { preconditionFailure(message) }
        let rank = max(a.count, b.count)
        var result = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            result[i] = da == 1 ? db : da
        }
        return result
    }

    /// The error message for shapes that do not broadcast, naming both, or nil when they do.
    static func mismatch(_ a: [Int], _ b: [Int], op opName: String = "broadcast") -> String? {
        let rank = max(a.count, b.count)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if da != db && da != 1 && db != 1 { return "\(opName): shapes \(a) and \(b) do not broadcast" }
        }
        return nil
    }

    /// Element strides of `shape` viewed inside `outShape` (0 along broadcast dimensions).
    static func strides(of shape: [Int], in outShape: [Int]) -> [Int] {
        let pad = outShape.count - shape.count
        var strides = [Int](repeating: 0, count: outShape.count)
        var running = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i + pad] = shape[i] == 1 ? 0 : running
            running *= shape[i]
        }
        return strides
    }

    /// How `shape` sits in `outShape`: the same, a scalar, or a repeated trailing block (a bias row).
    enum Pattern { case same, scalar, trailing(block: Int), general }

    static func pattern(of shape: [Int], in outShape: [Int]) -> Pattern {
        let n = shape.reduce(1, *)
        let total = outShape.reduce(1, *)
        if n == total { return .same }
        if n == 1 { return .scalar }
        var trimmed = ArraySlice(shape)
        while trimmed.first == 1 { trimmed = trimmed.dropFirst() }
        if Array(outShape.suffix(trimmed.count)) == Array(trimmed) { return .trailing(block: n) }
        return .general
    }

    /// Calls `body(outRow, aRow, bRow)` for the start of every run along the last axis of `outShape`, so
    /// callers loop over the contiguous last axis themselves (with strides 0 or 1), which vectorises.
    static func forEachRow(_ outShape: [Int], _ aStrides: [Int], _ bStrides: [Int],
                           _ body: (Int, Int, Int) -> Void) {
        guard let last = outShape.last, last > 0 else { return }
        let rows = outShape.dropLast().reduce(1, *)
        if rows == 0 { return }
        forEachIndex(Array(outShape.dropLast()), Array(aStrides.dropLast()), Array(bStrides.dropLast())) { row, ai, bi in
            body(row * last, ai, bi)
        }
    }

    /// Calls `body(outIndex, aIndex, bIndex)` for every element of `outShape` (the general slow path).
    static func forEachIndex(_ outShape: [Int], _ aStrides: [Int], _ bStrides: [Int],
                             _ body: (Int, Int, Int) -> Void) {
        let rank = outShape.count
        let total = outShape.reduce(1, *)
        if total == 0 { return }
        var index = [Int](repeating: 0, count: rank)
        var ai = 0, bi = 0
        for o in 0..<total {
            body(o, ai, bi)
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                ai += aStrides[d]; bi += bStrides[d]
                if index[d] < outShape[d] { break }
                ai -= aStrides[d] * outShape[d]; bi -= bStrides[d] * outShape[d]
                index[d] = 0
                d -= 1
            }
        }
    }
}

extension Tensor {
    /// Sums `self` (of a broadcast shape) down to `target`, the shape it was broadcast from.
    func reduced(toShape target: [Int]) -> Tensor {
        if target == shape { return self }
        let result = Tensor(shape: target, repeating: 0)
        let out = result.storage.pointer, src = pointer
        switch Broadcast.pattern(of: target, in: shape) {
        case .same:
            out.update(from: src, count: count)
        case .scalar:
            out[0] = Float(Reduce.sumDouble(src, count))
        case .trailing(let block):
            Kernels.addRows(src, rows: count / block, width: block, into: out)
        case .general:
            let strides = Broadcast.strides(of: target, in: shape)
            let width = shape.last ?? 1
            if strides.last == 1 {
                Broadcast.forEachRow(shape, strides, strides) { o, t, _ in
                    let dst = out + t, row = src + o
                    for j in 0..<width { dst[j] += row[j] }
                }
            } else {
                // The target is broadcast along the last axis: each run sums into one element.
                Broadcast.forEachRow(shape, strides, strides) { o, t, _ in out[t] += Reduce.sum(src + o, width) }
            }
        }
        return result
    }
}
