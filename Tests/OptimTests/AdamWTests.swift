import XCTest
@testable import Optim

/// AdamW's eight-lane update must give the bits of PyTorch's rule written one element at a time.
final class AdamWTests: XCTestCase {
    /// The rule as PyTorch states it, one element at a time (the loop the optimizer ran before it used lanes).
    private func reference(_ p: inout [Float], _ g: [Float], _ m: inout [Float], _ v: inout [Float], range: Range<Int>,
                           lr: Float, step t: Int, decays: Bool, _ h: AdamW.Hyperparameters) {
        let bc1 = 1 - Foundation.pow(Double(h.beta1), Double(t)), bc2 = 1 - Foundation.pow(Double(h.beta2), Double(t))
        let stepSize = Float(Double(lr) / bc1), inverseSqrtBC2 = Float(1 / bc2.squareRoot())
        let decay: Float = decays ? 1 - lr * h.weightDecay : 1
        for i in range {
            let mi = h.beta1 * m[i] + (1 - h.beta1) * g[i]
            let vi = h.beta2 * v[i] + (1 - h.beta2) * g[i] * g[i]
            m[i] = mi
            v[i] = vi
            p[i] = p[i] * decay - stepSize * mi / (vi.squareRoot() * inverseSqrtBC2 + h.epsilon)
        }
    }

    func testLanesGiveTheBitsOfTheElementwiseRuleAndSkipInactiveSegments() {
        // 19 = two full lanes of 8 and a tail of 3; 13 = one lane and a tail of 5; the frozen segment must not move.
        let segments = [AdamW.Segment(name: "w", offset: 0, count: 19, decay: true),
                        AdamW.Segment(name: "b", offset: 19, count: 13, decay: false),
                        AdamW.Segment(name: "frozen", offset: 32, count: 9, decay: true)]
        let h = AdamW.Hyperparameters()
        let optimizer = AdamW(segments: segments, hyperparameters: h)
        var p = (0..<41).map { Float(sin(Double($0) * 1.7)) }
        var expected = p, m = [Float](repeating: 0, count: 41), v = m
        for step in 1...3 {
            let g = (0..<41).map { Float(2 * cos(Double($0 * step) * 0.9 + 0.3)) * (step == 2 ? 1e-4 : 1) }
            let lr: Float = 1e-3 * Float(step)
            p.withUnsafeMutableBufferPointer { pb in
                g.withUnsafeBufferPointer { gb in
                    optimizer.step(parameters: pb.baseAddress!, gradients: gb.baseAddress!, lr: lr) { $0 != 2 }
                }
            }
            reference(&expected, g, &m, &v, range: 0..<19, lr: lr, step: step, decays: true, h)
            reference(&expected, g, &m, &v, range: 19..<32, lr: lr, step: step, decays: false, h)
            XCTAssertEqual(p.map(\.bitPattern), expected.map(\.bitPattern), "parameters after step \(step)")
            XCTAssertEqual(optimizer.firstMoment.map(\.bitPattern), m.map(\.bitPattern), "first moments after step \(step)")
            XCTAssertEqual(optimizer.secondMoment.map(\.bitPattern), v.map(\.bitPattern), "second moments after step \(step)")
        }
        XCTAssertEqual(optimizer.steps, [3, 3, 0])
    }
}
