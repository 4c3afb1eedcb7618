import Foundation
import XCTest
@testable import TensorCore

/// Gradients against references computed entirely in Double: closed-form derivatives for the
/// element-wise functions, and central differences (h = 1e-6, error ≈ 1e-10) of Double implementations
/// for the row operations. With no Float32 noise in the reference, tolerances are tight: 1e-5 of the
/// gradient scale (Float32 kernels, polynomial exp/erf), against 5e-4 in the Float32 finite-difference tests.
final class DoubleReferenceGradientTests: XCTestCase {
    typealias G = GradientCheck

    /// Max |analytic − reference| / max(max |reference|, 1e-2).
    func relativeError(_ analytic: [Float], _ reference: [Double]) -> Double {
        XCTAssertEqual(analytic.count, reference.count)
        let scale = max(reference.map(abs).max() ?? 0, 1e-2)
        return zip(analytic, reference).map { abs(Double($0) - $1) }.max()! / scale
    }

    /// ∂/∂inputs[index] of Σ f(inputs) ⊙ r by central differences in Double.
    func doubleDifferences(_ inputs: [[Double]], index: Int, r: [Double], _ f: ([[Double]]) -> [Double]) -> [Double] {
        let h = 1e-6
        return inputs[index].indices.map { e in
            var plus = inputs, minus = inputs
            plus[index][e] += h
            minus[index][e] -= h
            let lp = zip(f(plus), r).map(*).reduce(0, +), lm = zip(f(minus), r).map(*).reduce(0, +)
            return (lp - lm) / (2 * h)
        }
    }

    func double(_ t: Tensor) -> [Double] { t.values.map(Double.init) }

    func testElementwiseDerivativesAgainstClosedForms() {
        let x = G.uniform([4, 33], -6, 6, seed: 91), r = G.uniform([4, 33], seed: 92)
        let cases: [(String, (Tensor) -> Tensor, (Double) -> Double)] = [
            ("gelu", { $0.gelu() }, { v in 0.5 * (1 + Foundation.erf(v / 2.0.squareRoot())) + v * Foundation.exp(-v * v / 2) / (2 * Double.pi).squareRoot() }),
            ("tanh", { $0.tanh() }, { v in 1 - Foundation.tanh(v) * Foundation.tanh(v) }),
            ("sigmoid", { $0.sigmoid() }, { v in let s = 1 / (1 + Foundation.exp(-v)); return s * (1 - s) }),
            ("logSigmoid", { $0.logSigmoid() }, { v in 1 / (1 + Foundation.exp(v)) }),
            ("exp", { $0.exp() }, { v in Foundation.exp(v) }),
        ]
        for (name, op, derivative) in cases {
            let analytic = G.analytic([x], differentiate: [0], r: r) { op($0[0]) }[0]!.values
            let reference = zip(double(x), double(r)).map { derivative($0) * $1 }
            XCTAssertLessThan(relativeError(analytic, reference), 1e-5, name)
        }
    }

    func layerNormDouble(_ v: [[Double]], width: Int) -> [Double] {
        let (x, w, b) = (v[0], v[1], v[2])
        return (0..<(x.count / width)).flatMap { row -> [Double] in
            let xs = Array(x[(row * width)..<((row + 1) * width)])
            let mean = xs.reduce(0, +) / Double(width)
            let variance = xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(width)
            let rstd = 1 / (variance + 1e-5).squareRoot()
            return xs.enumerated().map { ($1 - mean) * rstd * w[$0] + b[$0] }
        }
    }

    func testLayerNormAgainstDoubleDifferences() {
        let width = 12
        let x = G.uniform([3, width], -2, 2, seed: 93) + 3, w = G.uniform([width], 0.5, 1.5, seed: 94), b = G.uniform([width], seed: 95)
        let r = G.uniform([3, width], seed: 96)
        let analytic = G.analytic([x, w, b], differentiate: [0, 1, 2], r: r) { $0[0].layerNorm(weight: $0[1], bias: $0[2]) }
        let inputs = [double(x), double(w), double(b)]
        for index in 0..<3 {
            let reference = doubleDifferences(inputs, index: index, r: double(r)) { layerNormDouble($0, width: width) }
            XCTAssertLessThan(relativeError(analytic[index]!.values, reference), 1e-5, "layerNorm input \(index)")
        }
    }

    func rows(_ v: [Double], _ width: Int, _ f: ([Double]) -> [Double]) -> [Double] {
        (0..<(v.count / width)).flatMap { f(Array(v[($0 * width)..<(($0 + 1) * width)])) }
    }

    func testRowOperationsAgainstDoubleDifferences() {
        let width = 13
        let x = G.uniform([3, width], -3, 3, seed: 97), r = G.uniform([3, width], seed: 98)
        let cases: [(String, (Tensor) -> Tensor, ([Double]) -> [Double])] = [
            ("softmax", { $0.softmax() }, DoubleReference.softmax),
            ("logSoftmax", { $0.logSoftmax() }, { DoubleReference.softmax($0).map { Foundation.log($0) } }),
            ("l2Normalized", { $0.l2Normalized() }, { row in let n = row.map { $0 * $0 }.reduce(0, +).squareRoot(); return row.map { $0 / n } }),
        ]
        for (name, op, reference) in cases {
            let analytic = G.analytic([x], differentiate: [0], r: r) { op($0[0]) }[0]!.values
            let expected = doubleDifferences([double(x)], index: 0, r: double(r)) { rows($0[0], width, reference) }
            XCTAssertLessThan(relativeError(analytic, expected), 1e-5, name)
        }
        // Cross-entropy: a scalar loss, R = 1.
        let labels: [Int32] = [12, 0, 5]
        let analytic = G.analytic([x], differentiate: [0], r: Tensor(scalar: 1)) { $0[0].crossEntropy(labels: labels) }[0]!.values
        let expected = doubleDifferences([double(x)], index: 0, r: [1]) { v in
            let logProbabilities = rows(v[0], width) { DoubleReference.softmax($0).map { Foundation.log($0) } }
            return [labels.enumerated().map { -logProbabilities[$0 * width + Int($1)] }.reduce(0, +) / 3]
        }
        XCTAssertLessThan(relativeError(analytic, expected), 1e-5, "crossEntropy")
    }

    /// Cross-attention with padded keys (one batch row with none valid) and Tq ≠ Tk, against Double differences of the
    /// Double reference: the gradients of the queries, the keys and the values.
    func testMaskedCrossAttentionAgainstDoubleDifferences() {
        let (batch, tq, tk, width, heads) = (3, 3, 5, 8, 2), counts = [5, 2, 0]
        let q = G.uniform([batch, tq, width], seed: 99), k = G.uniform([batch, tk, width], seed: 100)
        let v = G.uniform([batch, tk, width], seed: 101), r = G.uniform([batch, tq, width], seed: 102)
        let analytic = G.analytic([q, k, v], differentiate: [0, 1, 2], r: r) {
            Tensor.crossAttention(queries: $0[0], keysValues: Tensor.concatenate([$0[1], $0[2]], axis: 2), heads: heads,
                                  validKeyCounts: counts)
        }
        let inputs = [double(q), double(k), double(v)]
        for index in 0..<3 {
            let reference = doubleDifferences(inputs, index: index, r: double(r)) {
                DoubleReference.attention(q: $0[0], k: $0[1], v: $0[2], batch: batch, queryLength: tq, keyLength: tk, width: width,
                                          heads: heads, causal: false, validKeyCounts: counts)
            }
            XCTAssertLessThan(relativeError(analytic[index]!.values, reference), 1e-5, "cross-attention input \(index)")
        }
    }
}
