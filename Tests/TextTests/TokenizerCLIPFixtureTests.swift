import XCTest
@testable import Text

/// Parity with OpenCLIP's tokenizer on every caption of the reference fixture.
final class TokenizerCLIPFixtureTests: XCTestCase {
    func testEveryFixtureCaptionMatchesOpenCLIP() throws {
        let tokenizer = TokenizerTestSupport.clipTokenizer
        let captions = try TokenizerTestSupport.loadCaptions()
        XCTAssertEqual(captions.count, 296)
        var idMatches = 0, cleanMatches = 0, cleanChecked = 0
        var failures: [String] = []
        for (index, caption) in captions.enumerated() {
            let ids = tokenizer.encodeUnpadded(caption.text, contextLength: 77)
            let row = tokenizer.encode(caption.text, contextLength: 77)
            let expectedRow = caption.ids + [Int32](repeating: 0, count: 77 - caption.ids.count)
            if ids == caption.ids && row == expectedRow {
                idMatches += 1
            } else {
                failures.append("#\(index) [\(caption.source)] ids \(ids) expected \(caption.ids)")
            }
            if let expectedClean = caption.clean {
                cleanChecked += 1
                let clean = CLIPTextCleaner.clean(caption.text)
                if clean == expectedClean {
                    cleanMatches += 1
                } else {
                    failures.append("#\(index) [\(caption.source)] clean '\(TokenizerTestSupport.visible(clean))' "
                        + "expected '\(TokenizerTestSupport.visible(expectedClean))'")
                }
            }
        }
        print("CLIP BPE fixture: ids match \(idMatches)/\(captions.count), clean matches \(cleanMatches)/\(cleanChecked)")
        XCTAssertEqual(idMatches, captions.count)
        XCTAssertEqual(cleanMatches, cleanChecked)
        XCTAssertTrue(failures.isEmpty, "mismatches:\n" + failures.joined(separator: "\n"))
    }
}
