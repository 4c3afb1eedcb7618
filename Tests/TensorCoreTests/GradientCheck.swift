// Finite-difference checks of the tape's backward rules.
//
// Method: for inputs x₁…xₙ and a fixed random R of the output's shape, the loss is L = Σ op(x) ⊙ R.
// The analytic gradient comes from the tape, seeded with R (which is exactly ∂L/∂op(x); one test
// also builds L with `*` and `sum()` to show the two agree). The reference is a fourth-order central
// difference per input element,
//     ∂L/∂x ≈ [8(L(x+h) − L(x−h)) − (L(x+2h) − L(x−2h))] / 12h,
// with L accumulated in Double from the Float32 forward outputs. Its truncation error is O(h⁴)
// (≈1e-8 relative at h = 1e-2 on inputs of order one), and only the outputs that depend on the
// perturbed element change, so the Float32 rounding noise is ≈ 1e-5 of the gradient scale.
//
// Pass criterion: max |analytic − reference| ≤ tolerance · max(max |reference|, 1e-2).
// Tolerances (relative to the largest reference component):
//   5e-4  default: every op whose forward is exact Float32 arithmetic or libm (add … matmul, unfoldPatches).
//   1e-3  ops built on the vectorised polynomial exp/erf (exp, tanh, sigmoid, gelu, softmax family,
//         attention, cross-entropy): their approximations differ from the true functions by ~1e-7,
//         which can move the difference quotient by up to ~1e-4 of the scale.
// Observed errors (release build) are all below 5e-5, a margin of 10× or more. A backward rule that
// is 1 % off, or one gradient component perturbed by 1 % of the scale, fails (tested in
// `GradientHarnessTests.testHarnessRejectsWrongBackwardRule`). Non-smooth points are avoided by
// construction (relu inputs are kept at |x| ≥ 0.1 ≫ 2h; log/sqrt/divide inputs are ≥ 0.5).
//
// DoubleReferenceGradientTests complements this with references computed wholly in Double (closed-form
// derivatives of the element-wise functions; Double central differences of Double implementations of
// layer norm, softmax, log-softmax, l2-normalisation and cross-entropy) at a tolerance of 1e-5.

import XCTest
@testable import TensorCore

/// The outcome of comparing analytic and finite-difference gradients for one input.
struct GradientComparison {
    let input: Int
    let maxError: Double
    let scale: Double
    var relativeError: Double { maxError / scale }
}

enum GradientCheck {
    /// Uniform random values in [low, high) from a seeded generator.
    static func uniform(_ shape: [Int], _ low: Float = -1, _ high: Float = 1, seed: UInt64) -> Tensor {
        var generator = SplitMix64(seed: seed)
        return Tensor.randomUniform(shape, low: low, high: high, using: &generator)
    }

    /// Uniform values whose magnitude is at least `gap` (random sign), for ops with a kink at 0.
    static func awayFromZero(_ shape: [Int], gap: Float, seed: UInt64) -> Tensor {
        var generator = SplitMix64(seed: seed)
        let values = (0..<shape.reduce(1, *)).map { _ -> Float in
            let magnitude = gap + (1 - gap) * generator.nextUniform()
            return generator.nextUniform() < 0.5 ? -magnitude : magnitude
        }
        return Tensor(shape: shape, values: values)
    }

    /// Σ output ⊙ R in Double.
    static func weightedSum(_ output: Tensor, _ r: Tensor) -> Double {
        precondition(output.shape == r.shape, "weightedSum: \(output.shape) vs \(r.shape)")
        var s: Double = 0
        for i in 0..<output.count { s += Double(output.pointer[i]) * Double(r.pointer[i]) }
        return s
    }

    /// Analytic gradients of Σ f(inputs) ⊙ R for every input in `differentiate`.
    static func analytic(_ inputs: [Tensor], differentiate: [Int], r: Tensor, _ f: ([Tensor]) -> Tensor) -> [Tensor?] {
        Tape.shared.reset()
        let tracked = inputs.enumerated().map { differentiate.contains($0.offset) ? $0.element.tracked() : $0.element }
        let output = f(tracked)
        let gradients = Tape.shared.backward(from: output, seed: r)
        return tracked.map { gradients[$0] }
    }

    /// Fourth-order central difference of Σ f(inputs) ⊙ R with respect to every element of input `index`.
    static func numeric(_ inputs: [Tensor], index: Int, r: Tensor, h: Float, _ f: ([Tensor]) -> Tensor) -> [Double] {
        withoutGradients {
            var varied = inputs
            let base = inputs[index].values
            func loss(_ element: Int, _ delta: Float) -> Double {
                var v = base
                v[element] += delta
                varied[index] = Tensor(shape: inputs[index].shape, values: v)
                return weightedSum(f(varied), r)
            }
            return (0..<base.count).map { e in
                let near = loss(e, h) - loss(e, -h), far = loss(e, 2 * h) - loss(e, -2 * h)
                return (8 * near - far) / (12 * Double(h))
            }
        }
    }

    /// Compares analytic and numeric gradients for each input in `differentiate` (all inputs by default).
    static func compare(_ inputs: [Tensor], differentiate: [Int]? = nil, h: Float = 1e-2, seed: UInt64 = 99,
                        perturbAnalytic: ((inout [Float]) -> Void)? = nil,
                        _ f: ([Tensor]) -> Tensor) -> [GradientComparison] {
        let which = differentiate ?? Array(inputs.indices)
        let outputShape = withoutGradients { f(inputs).shape }
        let r = uniform(outputShape, -1, 1, seed: seed)
        let analyticGradients = analytic(inputs, differentiate: which, r: r, f)
        return which.map { index in
            let reference = numeric(inputs, index: index, r: r, h: h, f)
            guard var analyticValues = analyticGradients[index]?.values else {
                return GradientComparison(input: index, maxError: .infinity, scale: 1)
            }
            perturbAnalytic?(&analyticValues)
            precondition(analyticValues.count == reference.count, "gradient of input \(index) has \(analyticValues.count) values, expected \(reference.count)")
            var maxError: Double = 0, scale: Double = 1e-2
            for (a, n) in zip(analyticValues, reference) {
                maxError = max(maxError, abs(Double(a) - n))
                scale = max(scale, abs(n))
            }
            return GradientComparison(input: index, maxError: maxError, scale: scale)
        }
    }
}

extension XCTestCase {
    /// Asserts that the tape's gradients of Σ f(inputs) ⊙ R match finite differences within `tolerance`.
    func assertGradients(_ name: String, _ inputs: [Tensor], differentiate: [Int]? = nil, h: Float = 1e-2,
                         tolerance: Double = 5e-4, file: StaticString = #filePath, line: UInt = #line,
                         _ f: ([Tensor]) -> Tensor) {
        for c in GradientCheck.compare(inputs, differentiate: differentiate, h: h, f) {
            if ProcessInfo.processInfo.environment["GRADCHECK_VERBOSE"] != nil {
                print("gradcheck \(name) input \(c.input): relative error \(c.relativeError)")
            }
            XCTAssert(c.relativeError <= tolerance,
                      "\(name): input \(c.input) gradient error \(c.maxError) (relative \(c.relativeError), scale \(c.scale)) exceeds \(tolerance)",
                      file: file, line: line)
        }
    }
}
