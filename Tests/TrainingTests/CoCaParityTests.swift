import Training
import XCTest

/// SwiftCLIP's CoCa against OpenCLIP's own outputs for coca-tiny (features, image and text tokens, decoder logits, the
/// text mask, losses, every gradient, the AdamW step).
final class CoCaParityTests: XCTestCase {
    func testEveryQuantityMatchesOpenCLIP() throws {
        XCTAssertTrue(CoCaParity.isCoCaFixture(FixturePaths.cocaTiny))
        XCTAssertFalse(CoCaParity.isCoCaFixture(FixturePaths.clipTiny))
        let results = try CoCaParity(fixture: FixturePaths.cocaTiny).run()
        for r in results {
            XCTAssertTrue(r.passed, "\(r.quantity): max abs error \(r.maxAbsoluteError) > tolerance \(r.tolerance)")
        }
        let gradients = results.filter { $0.quantity.hasPrefix("grad.") }
        XCTAssertEqual(gradients.count, 129)
        for quantity in ["logits", "text_attn_mask (blocked entries that differ)", "caption_loss", "feature_grad.token_embs"] {
            XCTAssertTrue(results.contains { $0.quantity == quantity }, "\(quantity) was not compared")
        }
        XCTAssertEqual(results.filter { $0.quantity.hasPrefix("adamw(") }.count, 2 * 129 + 9)
    }
}
