import CLIP
import XCTest

/// The multiply-add counts behind the benchmarks' GFLOP/s figures.
final class CLIPFlopsTests: XCTestCase {
    func testTextPositionsCountTheTextMLPsUpToEachCaptionsEnd() throws {
        let config = try ModelCatalog.config("clip-bench")
        let t = config.text
        XCTAssertEqual(config.forwardMACsPerSample(patchDropout: 0), config.forwardMACsPerSample, "p = 0 is the plain step")
        XCTAssertEqual(config.forwardMACsPerSample(patchDropout: 0, textPositions: Double(t.contextLength)), config.forwardMACsPerSample)
        // Every block but the last (which computes the pooled row only) skips the MLP of the positions after the end.
        let skipped = Double(t.layers - 1) * (Double(t.contextLength) - 10) * 2 * Double(t.width * t.mlpWidth)
        XCTAssertEqual(config.forwardMACsPerSample - config.forwardMACsPerSample(patchDropout: 0, textPositions: 10), skipped,
                       accuracy: 1e-6 * skipped)
        XCTAssertLessThan(config.forwardMACsPerSample, config.architectureMACsPerSample)
    }
}
