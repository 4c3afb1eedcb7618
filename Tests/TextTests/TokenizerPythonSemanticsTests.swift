import Foundation
import XCTest
@testable import Text

/// Swift re-implementations of Python string functions against Python's own results on 600 random strings
/// (Fixtures/python-text-semantics.jsonl, written by Tools/generate_python_semantics_fixture.py).
final class TokenizerPythonSemanticsTests: XCTestCase {
    func testMatchesPythonOnRandomStrings() throws {
        let path = TokenizerTestSupport.repositoryRoot
            .appendingPathComponent("Tests/TextTests/Fixtures/python-text-semantics.jsonl").path
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let records = try data.split(separator: UInt8(ascii: "\n")).map {
            try JSONSerialization.jsonObject(with: Data($0)) as! [String: String]
        }
        XCTAssertEqual(records.count, 600)
        func string(_ scalars: [Unicode.Scalar]) -> String { String(String.UnicodeScalarView(scalars)) }
        var failures: [String] = []
        for record in records {
            let text = Array(record["text"]!.unicodeScalars)
            let results: [(String, String)] = [
                ("unescape", string(HTMLUnescaping.pythonUnescape(text))),
                ("lower", string(PythonStringSemantics.lower(text))),
                ("collapse", string(PythonStringSemantics.collapseWhitespace(text))),
                ("strip", string(PythonStringSemantics.strip(text))),
            ]
            // Compare scalars, not Strings: Swift's String equality is canonical equivalence.
            for (name, value) in results where Array(value.unicodeScalars) != Array(record[name]!.unicodeScalars) {
                failures.append("\(name)('\(TokenizerTestSupport.visible(record["text"]!))') = "
                    + "'\(TokenizerTestSupport.visible(value))', Python '\(TokenizerTestSupport.visible(record[name]!))'")
            }
        }
        print("python semantics: \(records.count * 4 - failures.count)/\(records.count * 4) results match")
        XCTAssertTrue(failures.isEmpty, failures.prefix(20).joined(separator: "\n"))
    }
}
