import Foundation
@testable import Text

/// Paths and shared objects for the tokenizer tests; everything lives inside the repository.
enum TokenizerTestSupport {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let mergesPath = repositoryRoot.appendingPathComponent("vocab/bpe_simple_vocab_16e6.txt.gz").path
    static let captionsPath = repositoryRoot
        .appendingPathComponent("Tests/TextTests/Fixtures/clip-bpe-captions.jsonl").path

    /// Loading the 1.3 MB merges file takes a moment; the tests share one tokenizer.
    static let clipTokenizer: CLIPBPETokenizer = try! CLIPBPETokenizer(mergesFile: mergesPath)

    /// One record of OpenCLIP's reference output.
    struct Caption {
        let text: String
        let ids: [Int32]
        let clean: String?
        let source: String
    }

    /// Reads the JSON-lines fixture, splitting records on `\n` only (the README's rule).
    static func loadCaptions() throws -> [Caption] {
        let data = try Data(contentsOf: URL(fileURLWithPath: captionsPath))
        return try data.split(separator: UInt8(ascii: "\n")).map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line)) as! [String: Any]
            return Caption(text: object["text"] as! String,
                           ids: (object["ids"] as! [NSNumber]).map { Int32(truncating: $0) },
                           clean: object["clean"] as? String,
                           source: object["source"] as! String)
        }
    }

    /// Escapes non-printable and non-ASCII scalars so mismatch reports are readable.
    static func visible(_ text: String) -> String {
        text.unicodeScalars.map { $0.value >= 0x20 && $0.value < 0x7F ? String($0) : "\\u{\(String($0.value, radix: 16))}" }
            .joined()
    }
}
