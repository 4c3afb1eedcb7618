import NN
import TensorCore
import XCTest

/// Finite-difference check of every element of the parameters named by `prefixes`: the tape's gradient of the scalar
/// `loss()` against a fourth-order central difference of the loss (in Double from Float forwards, step 1e-2), passing when
/// the largest difference is at most `tolerance` of the largest gradient.
enum HeadGradientCheck {
    static func check(_ store: ParameterStore, prefixes: [String], tolerance: Double = 2e-3, file: StaticString = #filePath, line: UInt = #line,
                      _ loss: () -> Tensor) {
        let checked = store.parameters.filter { p in prefixes.contains { p.name.hasPrefix($0) } }
        XCTAssertFalse(checked.isEmpty, "no parameter under \(prefixes)", file: file, line: line)
        Tape.shared.reset()
        store.track()
        let gradients = loss().backward()
        var analytic: [Float] = [], reference: [Float] = []
        for p in checked {
            let g = gradients[p.leaf!]
            analytic += g.map { Array($0.values) } ?? [Float](repeating: 0, count: p.count)
        }
        store.untrack()
        Tape.shared.reset()
        let h: Float = 1e-2
        func value() -> Double { Double(withoutGradients { loss() }.scalar) }
        for p in checked {
            for i in 0..<p.count {
                let original = p.pointer[i]
                var at: [Double] = []
                for delta in [2 * h, h, -h, -2 * h] {
                    p.pointer[i] = original + delta
                    at.append(value())
                }
                p.pointer[i] = original
                reference.append(Float((8 * (at[1] - at[2]) - (at[0] - at[3])) / (12 * Double(h))))
            }
        }
        let scale = Double(reference.map(abs).max() ?? 0)
        XCTAssertGreaterThan(scale, 1e-4, "the checked gradients are all zero", file: file, line: line)
        let worst = zip(analytic, reference).map { Double(abs($0 - $1)) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, tolerance * scale, "largest difference \(worst) of scale \(scale)", file: file, line: line)
    }
}
