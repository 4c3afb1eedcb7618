import XCTest
@testable import Text

/// Cleaning steps checked against Python's behaviour on cases the fixture does not cover.
final class TokenizerTextCleaningTests: XCTestCase {
    private func clean(_ text: String) -> String { CLIPTextCleaner.clean(text) }

    func testPythonHTMLUnescapeRules() {
        func unescape(_ text: String) -> String {
            String(String.UnicodeScalarView(HTMLUnescaping.pythonUnescape(Array(text.unicodeScalars))))
        }
        // Expected values are Python 3.11's html.unescape results.
        XCTAssertEqual(unescape("&amp &lt;b&gt; &#65;&#x42;&#X43 &#0; &#128; &#xD800; &#1; &#99999999999;"),
                       "& <b> ABC \u{FFFD} \u{20AC} \u{FFFD}  \u{FFFD}")
        XCTAssertEqual(unescape("&notit; &notin; &ampx &Amp; && &#; &;"), "\u{AC}it; \u{2209} &x &Amp; && &#; &;")
        XCTAssertEqual(unescape("&acE; &nbsp&copy"), "\u{223E}\u{333} \u{A0}\u{A9}")
    }

    func testFTFYUnescapeNeedsSemicolonAndKnowsUpperCaseNames() {
        func unescape(_ text: String) -> String {
            String(String.UnicodeScalarView(HTMLUnescaping.ftfyUnescape(Array(text.unicodeScalars))))
        }
        XCTAssertEqual(unescape("&amp &amp; &EACUTE; &AMP; &#59; &#x41; &bogus;"), "&amp & \u{C9} & &#59; A &bogus;")
    }

    func testFTFYFixes() {
        XCTAssertEqual(clean("l\u{2019}\u{E9}t\u{E9} \u{201C}x\u{201D}"), "l'\u{E9}t\u{E9} \"x\"")
        XCTAssertEqual(clean("Ã\u{A9}t\u{C3}\u{A9}"), "\u{E9}t\u{E9}")  // UTF-8 read as Latin-1
        XCTAssertEqual(clean("\u{E2}\u{20AC}\u{153}quoted\u{E2}\u{20AC}\u{9D}"), "\"quoted\"")  // via Windows-1252
        XCTAssertEqual(clean("price \u{80}5 and \u{85}"), "price \u{20AC}5 and \u{2026}")
        XCTAssertEqual(clean("\u{FF76}\u{FF80}\u{FF76}\u{FF85}"), "\u{30AB}\u{30BF}\u{30AB}\u{30CA}")  // half-width kana
        XCTAssertEqual(clean("\u{1B}[1;31mbold\u{1B}[0m"), "bold")
        XCTAssertEqual(clean("na\u{EF}ve caf\u{E9} \u{C5}"), "na\u{EF}ve caf\u{E9} \u{E5}")  // no false repair
        XCTAssertEqual(clean("CAF\u{C9}\u{201D} and B\u{C9}B\u{C9}\u{2019}s"), "caf\u{E9}\" and b\u{E9}b\u{E9}'s")
        XCTAssertEqual(clean("\u{C3}\u{153}BER caf\u{E9} it\u{E2}\u{20AC}\u{2122}s"), "\u{FC}ber caf\u{E9} it's")  // partial
        XCTAssertEqual(clean("\u{D0}\u{BF}\u{D1}\u{80}\u{D0}\u{B8}\u{D0}\u{B2}\u{D0}\u{B5}\u{D1}\u{82}"), "\u{43F}\u{440}\u{438}\u{432}\u{435}\u{442}")
    }

    func testPythonLowerAndWhitespace() {
        XCTAssertEqual(clean("ΣΑΣ Σ ΑΣ."), "σας σ ας.")
        XCTAssertEqual(Array(clean("İ").unicodeScalars), ["i", "\u{307}"])
        // U+001C is whitespace to Python but ftfy deletes it first, as a control character.
        XCTAssertEqual(clean("a\u{1C}b\u{200B}c\u{A0}\u{A0}d\u{FEFF}e\u{2003}f"), "ab\u{200B}c de f")
    }

    func testPreTokenizerPieces() {
        func pieces(_ text: String) -> [String] {
            let scalars = Array(text.unicodeScalars)
            var output: [String] = []
            CLIPPreTokenizer.forEachPiece(in: scalars) { piece in
                switch piece {
                case .text(let range): output.append(String(String.UnicodeScalarView(scalars[range])))
                case .startOfText: output.append("<SOT>")
                case .endOfText: output.append("<EOT>")
                }
                return true
            }
            return output
        }
        XCTAssertEqual(pieces("'strong' ''s 1,000 x<end_of_text>!<end_of_text>"),
                       ["'s", "trong", "'", "''", "s", "1", ",", "0", "0", "0", "x", "<EOT>", "!<", "end", "_", "of", "_", "text", ">"])
        XCTAssertEqual(pieces("i\u{307}stanbul \u{17F}'\u{17F}"), ["i", "\u{307}", "stanbul", "\u{17F}", "'\u{17F}"])
    }
}
