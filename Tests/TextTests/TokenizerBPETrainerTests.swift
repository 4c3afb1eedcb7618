import Foundation
import XCTest
@testable import Text

/// The project's own BPE tokenizer: training, framing, save/load and the vocabulary check.
final class TokenizerBPETrainerTests: XCTestCase {
    /// A synthetic caption corpus with a skewed word distribution, plus the fixture's real captions.
    private static let corpus: [String] = {
        let colors = ["red", "green", "blue", "yellow", "black", "white", "orange", "purple"]
        let objects = ["cat", "dog", "house", "bicycle", "apple", "flower", "car", "tree", "clock", "button"]
        let scenes = ["on a table", "in the garden", "near the window", "under a tree", "at night"]
        var captions: [String] = []
        for index in 0..<600 {
            let color = colors[(index * 7) % colors.count], object = objects[(index * index + 3) % objects.count]
            captions.append("A \(color) \(object) \(scenes[index % scenes.count]), photo #\(index % 13)")
        }
        return captions + ((try? TokenizerTestSupport.loadCaptions().map(\.text)) ?? [])
    }()

    func testTrainingIsDeterministicAndFillsTheBudget() throws {
        let first = try BPETrainer.train(corpus: Self.corpus, vocabularySize: 1000)
        let second = try BPETrainer.train(corpus: Self.corpus.reversed(), vocabularySize: 1000)
        XCTAssertEqual(try first.jsonData(), try second.jsonData(), "corpus order must not change the tokenizer")
        XCTAssertEqual(first.vocabularySize, 1000)
        XCTAssertEqual(first.startOfTextID, 998)
        XCTAssertEqual(first.endOfTextID, 999)
        let available = 1000 - TrainedBPETokenizer.minimumVocabularySize(wordFinalByteCount: first.wordFinalBytes.count)
        XCTAssertEqual(first.merges.count, available, "this corpus has enough repeated pairs to use every id")
        // The first merge is the corpus's most frequent adjacent pair, counted here by brute force.
        XCTAssertEqual(first.merges.first.map { $0.0 + $0.1 }, Self.mostFrequentPair(Self.corpus))
    }

    /// Brute-force pair count over the initial symbols, to check the trainer's first choice.
    private static func mostFrequentPair(_ corpus: [String]) -> String {
        var counts: [String: Int] = [:]
        for (piece, count) in BPETrainer.countPieces(corpus) {
            let symbols = piece.enumerated().map { index, byte in
                String(ByteLevelMapping.characterForByte[Int(byte)]) + (index == piece.count - 1 ? "</w>" : "")
            }
            for (left, right) in zip(symbols, symbols.dropFirst()) { counts[left + right, default: 0] += count }
        }
        let best = counts.values.max()!
        // Ties go to the smaller symbol ids; the corpus is chosen so that there is no tie at the top.
        XCTAssertEqual(counts.values.filter { $0 == best }.count, 1)
        return counts.first { $0.value == best }!.key
    }

    func testRowsEndWithTheLargestIdAndRespectTheVocabulary() throws {
        let tokenizer = try BPETrainer.train(corpus: Self.corpus, vocabularySize: 700)
        let probes = Self.corpus.prefix(50) + ["", "   ", "zebra crossing with ÜNICODE ✓ and 日本語", String(repeating: "long ", count: 100)]
        for text in probes {
            let row = tokenizer.encode(text, contextLength: 32)
            XCTAssertEqual(row.count, 32)
            XCTAssertEqual(row.first, 698)
            let end = row.firstIndex(of: 699)!
            XCTAssertEqual(row.firstIndex(of: row.max()!), end, "argmax pooling must find the end token: \(text)")
            XCTAssertTrue(row[(end + 1)...].allSatisfy { $0 == 0 })
            XCTAssertTrue(row.allSatisfy { $0 >= 0 && $0 < 700 })
            XCTAssertEqual(tokenizer.encodeUnpadded(text, contextLength: 32), Array(row[...end]))
        }
        // Special-token text inside a caption becomes the special ids, as in OpenCLIP.
        let special = tokenizer.encodeUnpadded("<start_of_text>inside<END_OF_TEXT>text", contextLength: 32)
        XCTAssertEqual(Array(special.prefix(2)), [698, 698])
        XCTAssertEqual(special.filter { $0 == 699 }.count, 2)
        // Content ids decode back to the cleaned text (word ends become spaces).
        XCTAssertEqual(tokenizer.decode(tokenizer.contentIDs("A red cat, on a table")), "a red cat , on a table ")
        XCTAssertLessThan(tokenizer.contentIDs("a red cat on a table").count, "aredcatonatable".utf8.count)
    }

    func testSaveAndLoadRoundTrip() throws {
        let tokenizer = try BPETrainer.train(corpus: Self.corpus, vocabularySize: 800)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swiftclip-bpe-\(UUID()).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try tokenizer.save(to: path)
        let loaded = try TrainedBPETokenizer(contentsOf: path)
        XCTAssertEqual(loaded.vocabularySize, 800)
        XCTAssertEqual(loaded.wordFinalBytes, tokenizer.wordFinalBytes)
        XCTAssertEqual(loaded.merges.map { $0.0 + " " + $0.1 }, tokenizer.merges.map { $0.0 + " " + $0.1 })
        XCTAssertEqual(try loaded.jsonData(), try tokenizer.jsonData())
        for text in Self.corpus.prefix(100) {
            XCTAssertEqual(loaded.encode(text, contextLength: 77), tokenizer.encode(text, contextLength: 77))
        }
    }

    func testVocabularyCheckNamesBothSizes() throws {
        let tokenizer = try BPETrainer.train(corpus: Self.corpus, vocabularySize: 1000)
        XCTAssertNoThrow(try tokenizer.check(fitsModelVocabulary: 1000))
        XCTAssertNoThrow(try tokenizer.check(fitsModelVocabulary: 49408))
        XCTAssertThrowsError(try tokenizer.check(fitsModelVocabulary: 512)) { error in
            XCTAssertEqual(error as? TokenizerError, .vocabularyTooLarge(tokenizer: 1000, model: 512))
            let message = "\(error)"
            XCTAssertTrue(message.contains("1000") && message.contains("512"), message)
            XCTAssertFalse(message.contains("\n"))
        }
        XCTAssertThrowsError(try BPETrainer.train(corpus: Self.corpus, vocabularySize: 100)) { error in
            XCTAssertTrue("\(error)".hasPrefix("tokenizer training: vocabulary size 100 is below the"), "\(error)")
        }
    }

    func testSmallCorpusLeavesUnusedIdsButKeepsSpecialIds() throws {
        let tokenizer = try BPETrainer.train(corpus: ["a cat", "a cat", "a dog"], vocabularySize: 1000)
        XCTAssertLessThan(tokenizer.merges.count, 10)
        XCTAssertEqual(tokenizer.encodeUnpadded("a cat", contextLength: 77).last, 999)
        XCTAssertEqual(tokenizer.encodeUnpadded("a cat", contextLength: 77).count, 4)  // start, a, cat, end
    }

    func testMalformedFilesGiveOneLineErrors() throws {
        let tokenizer = try BPETrainer.train(corpus: Self.corpus, vocabularySize: 600)
        var json = try JSONSerialization.jsonObject(with: tokenizer.jsonData()) as! [String: Any]
        json["vocabularySize"] = 300
        let shrunk = try JSONSerialization.data(withJSONObject: json)
        XCTAssertThrowsError(try TrainedBPETokenizer(jsonData: shrunk, source: "tok.json")) { error in
            XCTAssertTrue("\(error)".hasPrefix("tok.json: malformed tokenizer file:"), "\(error)")
        }
        json = try JSONSerialization.jsonObject(with: tokenizer.jsonData()) as! [String: Any]
        json["merges"] = ["zz qq"]
        XCTAssertThrowsError(try TrainedBPETokenizer(jsonData: JSONSerialization.data(withJSONObject: json), source: "tok.json")) { error in
            XCTAssertEqual("\(error)", "tok.json: malformed tokenizer file: merge 1 ('zz qq') uses a symbol no earlier merge creates")
        }
        XCTAssertThrowsError(try TrainedBPETokenizer(jsonData: Data("{\"format\": 1}".utf8), source: "tok.json")) { error in
            XCTAssertFalse("\(error)".contains("\n"), "\(error)")
        }
        XCTAssertThrowsError(try TrainedBPETokenizer(contentsOf: "/nonexistent/tok.json")) { error in
            XCTAssertTrue("\(error)".hasPrefix("/nonexistent/tok.json: cannot read"), "\(error)")
        }
    }

    func testParallelPieceCountingMatchesSerialCounting() {
        let serial = BPETrainer.countPieces(Self.corpus)  // small corpus: one worker
        let repeated = Array(repeating: Self.corpus, count: 6).flatMap { $0 }
        XCTAssertGreaterThanOrEqual(repeated.count, 4096, "large enough for the parallel path")
        XCTAssertEqual(BPETrainer.countPieces(repeated), serial.mapValues { $0 * 6 })
    }

    func testTrainingSpeed() throws {
        let corpus = (0..<10).flatMap { round in Self.corpus.map { "\($0) round\(round)" } }
        let start = Date()
        let tokenizer = try BPETrainer.train(corpus: corpus, vocabularySize: 2000)
        print("tokenizer: trained \(tokenizer.merges.count) merges on \(corpus.count) captions in "
              + String(format: "%.3f", Date().timeIntervalSince(start)) + " s")
    }
}
