import Foundation
@testable import TensorCore

/// Straightforward Double implementations that Float32 kernels are checked against.
enum DoubleReference {
    static func softmax(_ row: [Double]) -> [Double] {
        let m = row.max()!
        let e = row.map { Foundation.exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    /// Multi-head attention over q [B, Tq, W], k and v [B, Tk, W] (row-major) -> [B, Tq, W]. Batch row b attends to its
    /// first `validKeyCounts[b]` keys (all when nil); a query with no key to attend to outputs zeros.
    static func attention(q: [Double], k: [Double], v: [Double], batch: Int, queryLength tq: Int, keyLength tk: Int, width: Int,
                       heads: Int, causal: Bool, validKeyCounts: [Int]? = nil) -> [Double] {
        let d = width / heads
        var out = [Double](repeating: 0, count: batch * tq * width)
        for b in 0..<batch {
            for h in 0..<heads {
                for i in 0..<tq {
                    let keys = min(validKeyCounts?[b] ?? tk, causal ? i + 1 : tk)
                    guard keys > 0 else { continue }
                    let scores = (0..<keys).map { j -> Double in
                        (0..<d).reduce(0.0) { $0 + q[(b * tq + i) * width + h * d + $1] * k[(b * tk + j) * width + h * d + $1] }
                            / Double(d).squareRoot()
                    }
                    let p = softmax(scores)
                    for c in 0..<d {
                        out[(b * tq + i) * width + h * d + c] = (0..<keys).reduce(0.0) { $0 + p[$1] * v[(b * tk + $1) * width + h * d + c] }
                    }
                }
            }
        }
        return out
    }

    /// The same for Float tensors q [B, Tq, W], k and v [B, Tk, W].
    static func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, causal: Bool, validKeyCounts: [Int]? = nil) -> [Double] {
        attention(q: q.values.map(Double.init), k: k.values.map(Double.init), v: v.values.map(Double.init), batch: q.shape[0],
               queryLength: q.shape[1], keyLength: k.shape[1], width: q.shape[2], heads: heads, causal: causal,
               validKeyCounts: validKeyCounts)
    }
}
