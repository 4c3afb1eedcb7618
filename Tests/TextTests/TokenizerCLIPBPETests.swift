import Foundation
import TensorCore
import XCTest
@testable import Text

/// Behaviour of the CLIP tokenizer beyond the fixture: merge-loop equivalence, framing, errors, speed.
final class TokenizerCLIPBPETests: XCTestCase {
    private var tokenizer: CLIPBPETokenizer { TokenizerTestSupport.clipTokenizer }

    /// OpenCLIP's loop, written naively: find the lowest-ranked pair, merge all its occurrences, repeat.
    private func referenceMerge(_ bytes: [UInt8], model: BytePairModel) -> [Int32] {
        var word = bytes.enumerated().map { index, byte in
            index == bytes.count - 1 ? model.finalByteID[Int(byte)] : model.innerByteID[Int(byte)]
        }
        while word.count > 1 {
            var best: Int32?
            for (left, right) in zip(word, word.dropFirst()) {
                if let rank = model.mergeRanks[BytePairModel.pairKey(left, right)], rank < (best ?? .max) { best = rank }
            }
            guard let rank = best else { break }
            var merged: [Int32] = []
            var index = 0
            while index < word.count {
                if index + 1 < word.count, model.mergeRanks[BytePairModel.pairKey(word[index], word[index + 1])] == rank {
                    merged.append(model.firstMergeID + rank)
                    index += 2
                } else {
                    merged.append(word[index])
                    index += 1
                }
            }
            word = merged
        }
        return word
    }

    /// Seeded, so that the random pieces are the same on every run.
    func testHeapMergeLoopMatchesNaiveLoopOnRandomPieces() {
        var generator = SplitMix64(seed: 2024)
        let alphabets: [[UInt8]] = [Array("abcdefghijklmnopqrstuvwxyz".utf8), Array("aeiounrst".utf8), Array("!?.<>-_".utf8),
                                    Array("ab".utf8), Array(0...255)]
        for trial in 0..<3000 {
            let alphabet = alphabets[trial % alphabets.count]
            let length = Int.random(in: 1...(trial % 10 == 0 ? 200 : 16), using: &generator)
            let bytes = (0..<length).map { _ in alphabet.randomElement(using: &generator)! }
            XCTAssertEqual(tokenizer.model.mergePiece(bytes), referenceMerge(bytes, model: tokenizer.model), "bytes \(bytes)")
        }
    }

    func testKnownTokensAndDecoding() {
        XCTAssertEqual(tokenizer.encodeUnpadded("a photo of a cat"), [49406, 320, 1125, 539, 320, 2368, 49407])
        XCTAssertEqual(tokenizer.decode(tokenizer.contentIDs("A Photo of a CAT, café!")), "a photo of a cat , café ! ")
        XCTAssertEqual(tokenizer.vocabularySize, 49408)
    }

    func testFramingTruncatesKeepingEndTokenAndPads() {
        let row = tokenizer.encode(String(repeating: "cat ", count: 200), contextLength: 77)
        XCTAssertEqual(row.count, 77)
        XCTAssertEqual(row.first, CLIPBPETokenizer.startOfTextID)
        XCTAssertEqual(row.last, CLIPBPETokenizer.endOfTextID)
        XCTAssertEqual(Set(row[1..<76]), [2368])
        let short = tokenizer.encode("", contextLength: 5)
        XCTAssertEqual(short, [49406, 49407, 0, 0, 0])
        XCTAssertEqual(tokenizer.encode("a b c d e", contextLength: 4), [49406, 320, 321, 49407])
        XCTAssertEqual(tokenizer.encode("a b c d e", contextLength: 2), [49406, 49407])
        XCTAssertEqual(tokenizer.encode("a b c d e", contextLength: 1), [49407])
    }

    func testLongPiecesAreNotQuadratic() {
        let start = Date()
        let ids = tokenizer.contentIDs(String(repeating: "ab", count: 50_000) + " " + String(repeating: "!?", count: 50_000))
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertGreaterThan(ids.count, 1000)
        print("tokenizer: two 100k-character pieces in \(String(format: "%.3f", elapsed)) s")
        XCTAssertLessThan(elapsed, 2.0)
    }

    func testEncodesTenThousandCaptionsQuickly() throws {
        let captions = try TokenizerTestSupport.loadCaptions().map(\.text)
        // Vary the captions so that the piece cache sees new words too, as on a real corpus.
        let corpus = (0..<10_000).map { "\(captions[$0 % captions.count]) variant\($0 % 997) item\($0)" }
        let tokenizer = self.tokenizer  // loaded before the clock starts
        let start = Date()
        var total = 0
        for caption in corpus { total += tokenizer.encode(caption, contextLength: 77).count }
        let elapsed = Date().timeIntervalSince(start)
        print("tokenizer: 10,000 captions encoded in \(String(format: "%.3f", elapsed)) s")
        XCTAssertEqual(total, 770_000)
        XCTAssertLessThan(elapsed, 3.0)
    }

    func testBatchEncodingIsParallelSafeAndMatchesSerialEncoding() throws {
        let captions = try TokenizerTestSupport.loadCaptions().map(\.text)
        let texts = (0..<2000).map { "\(captions[$0 % captions.count]) #\($0)" }
        let fresh = try CLIPBPETokenizer(mergesFile: TokenizerTestSupport.mergesPath)  // empty cache: threads race to fill it
        let batch = fresh.encodeBatch(texts, contextLength: 77)
        XCTAssertEqual(batch.count, texts.count * 77)
        for (index, text) in texts.enumerated() where index % 7 == 0 {
            XCTAssertEqual(Array(batch[(index * 77)..<((index + 1) * 77)]), tokenizer.encode(text, contextLength: 77))
        }
    }

    func testLoadingTime() throws {
        let start = Date()
        _ = try CLIPBPETokenizer(mergesFile: TokenizerTestSupport.mergesPath)
        print("tokenizer: merges file loaded in \(String(format: "%.3f", Date().timeIntervalSince(start))) s")
    }

    func testMissingAndCorruptMergesFilesGiveOneLineErrors() throws {
        XCTAssertThrowsError(try CLIPBPETokenizer(mergesFile: "/nonexistent/merges.txt.gz")) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("/nonexistent/merges.txt.gz: cannot read"), message)
            XCTAssertFalse(message.contains("\n"))
        }
        var compressed = [UInt8](try Data(contentsOf: URL(fileURLWithPath: TokenizerTestSupport.mergesPath)))
        compressed[compressed.count / 2] ^= 0x5A
        XCTAssertThrowsError(try CLIPBPETokenizer(mergesFileContents: compressed, source: "bad.gz")) { error in
            XCTAssertTrue("\(error)".hasPrefix("bad.gz: malformed tokenizer file:"), "\(error)")
        }
        let truncated = Array(compressed.prefix(1000))
        XCTAssertThrowsError(try CLIPBPETokenizer(mergesFileContents: truncated, source: "short.gz"))
        let plain = Array("#version: 0.2\ni n\nthis line has three\n".utf8)
        XCTAssertThrowsError(try CLIPBPETokenizer(mergesFileContents: plain, source: "plain.txt")) { error in
            XCTAssertEqual("\(error)", "plain.txt: malformed tokenizer file: line 3 is not a merge pair of two symbols: 'this line has three'")
        }
    }

    func testGzipDecoderHandlesStoredFixedAndDynamicBlocks() throws {
        // Produced by Python's gzip module at levels 0 (stored) and 9, with a file name in the header.
        let stored: [UInt8] = [0x1F, 0x8B, 0x08, 0x08, 0, 0, 0, 0, 0x00, 0xFF, 0x61, 0x00, 0x01, 0x05, 0x00, 0xFA, 0xFF,
                               0x68, 0x65, 0x6C, 0x6C, 0x6F, 0x86, 0xA6, 0x10, 0x36, 0x05, 0, 0, 0]
        XCTAssertEqual(String(decoding: try GzipDecoder.decompress(stored), as: UTF8.self), "hello")
        let fixed: [UInt8] = [0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xFF, 0xCB, 0x48, 0xCD, 0xC9, 0xC9,
                              0x57, 0xC8, 0x40, 0x90, 0x00, 0x80, 0x88, 0xF9, 0xE5, 0x11, 0x00, 0x00, 0x00]
        XCTAssertEqual(String(decoding: try GzipDecoder.decompress(fixed), as: UTF8.self), "hello hello hello")
        XCTAssertThrowsError(try GzipDecoder.decompress(Array(fixed.dropLast(3))))
        let merges = try GzipDecoder.decompress([UInt8](try Data(contentsOf: URL(fileURLWithPath: TokenizerTestSupport.mergesPath))))
        XCTAssertEqual(merges.count, 3_194_984)
    }
}
