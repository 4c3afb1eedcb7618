import NN
import TensorCore
import XCTest

/// Adds small varied offsets to every parameter, so that biases and layer-norm affines are not at their
/// initial zeros and ones and every parameter's gradient is exercised.
func perturb(_ store: ParameterStore, seed: UInt64) {
    var generator = SplitMix64(seed: seed)
    for i in 0..<store.count { store.values.pointer[i] += 0.05 * Float(Int(generator.next() % 21) - 10) / 10 }
}

/// The output of `f(inputs)` and the gradients of Σ output ⊙ r with respect to each input (nil where none flows)
/// and then to every parameter of `store`.
func outputAndGradients(store: ParameterStore, inputs: [Tensor], r: Tensor, _ f: ([Tensor]) -> Tensor) -> (Tensor, [Tensor?]) {
    Tape.shared.reset()
    store.track()
    defer { store.untrack() }
    let tracked = inputs.map { $0.tracked() }
    let output = f(tracked)
    let gradients = Tape.shared.backward(from: output, seed: r)
    return (output, tracked.map { gradients[$0] } + store.parameters.map { gradients[$0.leaf!] })
}

/// Asserts that two lists of gradients agree to `relative` of each tensor's largest magnitude.
func assertSameGradients(_ a: [Tensor?], _ b: [Tensor?], relative: Float, _ message: String,
                         file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, message, file: file, line: line)
    for (index, (x, y)) in zip(a, b).enumerated() {
        guard let x, let y else { XCTAssert(x == nil && y == nil, "\(message): gradient \(index) missing on one side", file: file, line: line); continue }
        XCTAssertEqual(x.shape, y.shape, message, file: file, line: line)
        let scale = max(x.values.map { abs($0) }.max() ?? 0, 1e-6)
        let difference = zip(x.values, y.values).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(difference, relative * scale, "\(message): gradient \(index)", file: file, line: line)
    }
}

/// (f(x + h) - f(x - h)) / 2h for the value at `pointer`, which is restored afterwards.
func centralDifference(_ pointer: UnsafeMutablePointer<Float>, step: Float, _ objective: () -> Double) -> Double {
    let original = pointer.pointee
    pointer.pointee = original + step
    let plus = objective()
    pointer.pointee = original - step
    let minus = objective()
    pointer.pointee = original
    return (plus - minus) / Double(2 * step)
}
