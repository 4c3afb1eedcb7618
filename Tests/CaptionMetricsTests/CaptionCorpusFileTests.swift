import CaptionMetrics
import XCTest

final class CaptionCorpusFileTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("caption-corpus-file-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(at: directory)
    }

    private func file(_ json: String) throws -> String {
        let path = directory.appendingPathComponent("corpora-\(UUID().uuidString).json").path
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The error of scoring `json`: one line, naming the file, containing `problem`.
    private func assertRefused(_ json: String, _ problem: String, line: UInt = #line) throws {
        let path = try file(json)
        XCTAssertThrowsError(try CaptionCorpusFile.score(path: path), line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix(path + ": "), message, line: line)
            XCTAssertTrue(message.contains(problem), "\(message) lacks \(problem)", line: line)
            XCTAssertFalse(message.contains("\n"), message, line: line)
        }
    }

    func testTheFixtureScoredFromItsRawCaptionsMatchesPycocoevalcap() throws {
        let expected = try CaptionFixture.corpora()
        let scored = try CaptionCorpusFile.score(path: CaptionFixture.casesPath)
        XCTAssertEqual(scored.map(\.name), expected.map(\.name))
        XCTAssertEqual(scored.map(\.scores.images.count), [40, 5, 1])
        for (ours, reference) in zip(scored, expected) {
            for (a, b) in zip(ours.scores.bleu + [ours.scores.cider], reference.bleu + [reference.cider]) {
                XCTAssertEqual(a, b, accuracy: CaptionFixtureScoreTests.tolerance, ours.name)
            }
            XCTAssertEqual(ours.scores.images.map(\.id), reference.images?.map(\.id))
        }
        let main = try CaptionCorpusFile.load(path: CaptionFixture.casesPath)[0]
        XCTAssertEqual(main.examples[0].references, expected[0].images?[0].refsRaw)
        XCTAssertEqual(main.examples[0].candidate, expected[0].images?[0].candidateRaw)
    }

    func testNormalisedCaptionsAndIntegerIDsAreAccepted() throws {
        let path = try file(#"{"corpora": [{"name": "n", "images": [{"id": 1, "refs": ["a b"], "candidate": "a b"},"#
            + #" {"id": 2, "refs": ["c d", "c e"], "candidate": "c d"}]}]}"#)
        let corpus = try CaptionCorpusFile.load(path: path)[0]
        XCTAssertEqual(corpus.examples, [CaptionExample(id: "1", references: ["a b"], candidate: "a b"),
                                         CaptionExample(id: "2", references: ["c d", "c e"], candidate: "c d")])
    }

    func testBadFilesAreOneLineErrorsNamingTheFileAndTheProblem() throws {
        let missing = directory.appendingPathComponent("absent.json").path
        XCTAssertThrowsError(try CaptionCorpusFile.score(path: missing)) { XCTAssertEqual("\($0)", "\(missing): cannot read the file") }
        try assertRefused("{\"corpora\": [", "not valid JSON")
        try assertRefused("[1, 2]", #"expected a JSON object with a "corpora" list"#)
        try assertRefused(#"{"corpora": []}"#, #""corpora" is empty"#)
        try assertRefused(#"{"corpora": [{"images": []}]}"#, #"corpora[0] has no "name" string"#)
        try assertRefused(#"{"corpora": [{"name": "n"}]}"#, #"corpora[0] (n) has no "images" list"#)
        try assertRefused(#"{"corpora": [{"name": "n", "num_images": 2, "images": [{"id": "a", "refs": ["x"], "candidate": "x"}]}]}"#,
                          #""num_images" is 2 but "images" has 1"#)
        try assertRefused(#"{"corpora": [{"name": "n", "images": [{"refs": ["x"], "candidate": "x"}]}]}"#,
                          #"corpora[0] (n).images[0] has no "id" string or integer"#)
        try assertRefused(#"{"corpora": [{"name": "n", "images": [{"id": "a", "candidate": "x"}]}]}"#,
                          #"(id a) has neither "refs_raw" nor "refs""#)
        try assertRefused(#"{"corpora": [{"name": "n", "images": [{"id": "a", "refs": "x", "candidate": "x"}]}]}"#,
                          #""refs" is not a list of strings"#)
        try assertRefused(#"{"corpora": [{"name": "n", "images": [{"id": "a", "refs": ["x"], "candidate": ["x"]}]}]}"#,
                          #""candidate" is not a string"#)
        try assertRefused(#"{"corpora": [{"name": "n", "images": [{"id": "a", "refs": ["x"], "candidate_raw": "A Cat", "candidate": "A Cat"}]}]}"#,
                          #""candidate" is not "candidate_raw" normalised"#)
    }

    func testCorporaTheMetricsCannotScoreAreErrorsNamingTheCorpus() throws {
        try assertRefused(#"{"corpora": [{"name": "n", "images": []}]}"#, "corpus n: no images to score")
        try assertRefused(#"{"corpora": [{"name": "n", "images": [{"id": "a", "refs": [], "candidate": "x"}]}]}"#,
                          "corpus n: image a has no reference caption")
        try assertRefused(#"{"corpora": [{"name": "n", "images": [{"id": "a", "refs": ["x"], "candidate": "x"},"#
                          + #" {"id": "a", "refs": ["y"], "candidate": "y"}]}]}"#, "corpus n: image id a appears more than once")
    }
}
