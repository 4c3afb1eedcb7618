import CLIP
import XCTest

/// The multiply-add counts behind the benchmarks' GFLOP/s figures.
final class CLIPFlopsTests: XCTestCase {
    /// Forward multiply-adds of clip-bench's text tower on captions all of `length` positions, written out block by block.
    private func textTowerMACs(_ config: CLIPConfig, length: Int) -> Double {
        let t = config.text, (w, mlp, n) = (Double(t.width), Double(t.mlpWidth), Double(length))
        let block = n * 2 * w * w + n * (w * w + 2 * n * w) + n * w * w + n * 2 * w * mlp
        let last = n * 2 * w * w + (w * w + 2 * n * w) + w * w + 2 * w * mlp
        return Double(t.layers - 1) * block + last
    }

    func testCaptionLengthsCountTheTextTowerAsFarAsEachGroupRuns() throws {
        let config = try ModelCatalog.config("clip-bench")
        let context = config.text.contextLength
        XCTAssertEqual(config.forwardMACsPerSample(patchDropout: 0), config.forwardMACsPerSample, "p = 0 is the plain step")
        XCTAssertEqual(config.forwardMACsPerSample(patchDropout: 0, captionLengths: [context, context]), config.forwardMACsPerSample)
        // Captions of 10 positions: one group that runs 10 positions instead of the context's.
        XCTAssertEqual(config.forwardMACsPerSample - config.forwardMACsPerSample(patchDropout: 0, captionLengths: [10, 10, 10]),
                       textTowerMACs(config, length: context) - textTowerMACs(config, length: 10), accuracy: 1)
        // 60 short captions and 4 full ones: two groups, each counted at its own length.
        let mixed = [Int](repeating: 3, count: 60) + [Int](repeating: context, count: 4)
        let expected = (60 * textTowerMACs(config, length: 3) + 4 * textTowerMACs(config, length: context)) / 64
        XCTAssertEqual(config.forwardMACsPerSample - config.forwardMACsPerSample(patchDropout: 0, captionLengths: mixed),
                       textTowerMACs(config, length: context) - expected, accuracy: 1)
        XCTAssertLessThan(config.forwardMACsPerSample, config.architectureMACsPerSample)
    }
}
