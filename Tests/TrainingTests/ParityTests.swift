import Training
import XCTest

/// SwiftCLIP against OpenCLIP's own outputs for clip-tiny (features, losses, every gradient, AdamW step).
final class ParityTests: XCTestCase {
    func testEveryQuantityMatchesOpenCLIP() throws {
        let results = try Parity(fixture: FixturePaths.clipTiny).run()
        // 8 feature/logit/loss rows + 62 gradients + 2 feature grads + 6 SigLIP rows + 2 × 62 (+4 key-bias splits) AdamW rows.
        XCTAssertGreaterThanOrEqual(results.count, 200)
        for r in results {
            XCTAssertTrue(r.passed, "\(r.quantity): max abs error \(r.maxAbsoluteError) > tolerance \(r.tolerance)")
        }
        let gradients = results.filter { $0.quantity.hasPrefix("grad.") }
        XCTAssertEqual(gradients.count, 62)
        // Far inside the tolerance in practice: every gradient within 1e-5 relative.
        XCTAssertLessThan(gradients.map(\.maxRelativeError).max()!, 1e-5)
    }
}
