import Foundation
import Retrieval
@testable import Serving
import TensorCore
import XCTest

final class BatchingTests: XCTestCase {
    var fixture: ServingFixture!

    // A long window so that queries sent together certainly share it.
    override func setUp() async throws {
        fixture = try await ServingFixture(configuration: ServeConfiguration(port: 0, cacheSize: 0, maxK: 20, maxBatch: 8, batchWait: 0.5))
    }
    override func tearDown() async throws { fixture.stop() }

    func testConcurrentQueriesShareOneForwardPassAndGetTheUnbatchedResults() async throws {
        let fixture = self.fixture!
        let texts = ["a red circle", "a blue square", "a green triangle", "a photo of a yellow circle", "a small red square"]
        let images = [3, 8].map { FileManager.default.contents(atPath: fixture.catalog.imageFile($0)!)! }
        let replies = try await withThrowingTaskGroup(of: (Int, ServingFixture.Reply).self) { group in
            for (slot, text) in texts.enumerated() { group.addTask { (slot, try await fixture.search(["text": text, "k": 6])) } }
            for (slot, bytes) in images.enumerated() {
                group.addTask { (texts.count + slot, try await fixture.search(["image_base64": bytes.base64EncodedString(), "k": 6])) }
            }
            var replies = [ServingFixture.Reply?](repeating: nil, count: texts.count + images.count)
            for try await (slot, reply) in group { replies[slot] = reply }
            return replies.map { $0! }
        }
        let counts = fixture.service.metrics.encoderCounts
        XCTAssertEqual(counts.queries, 7)
        XCTAssertLessThan(counts.batches, 7, "queries sent together were encoded one by one")

        // Each answer equals the one of its query embedded alone.
        let model = fixture.model, input = try XCTUnwrap(model.textInput)
        for (slot, text) in texts.enumerated() {
            let alone = withoutGradients { model.embedTexts(input.tokenizer.encode(text, contextLength: input.contextLength)).values }
            Self.assertSameHits(try ServingFixture.hits(replies[slot]), fixture.index.search(query: alone, k: 6), text)
        }
        let metrics = try await fixture.request("/metrics")
        let text = String(decoding: metrics.body, as: UTF8.self)
        XCTAssertTrue(text.contains("swiftclip_encoder_batches_total \(counts.batches)\n"), text)
        XCTAssertTrue(text.contains("swiftclip_encoder_queries_total 7\n"), text)
        for (slot, id) in [3, 8].enumerated() { XCTAssertEqual(try ServingFixture.hits(replies[texts.count + slot]).first?.id, id) }
    }

    func testABatchOfOneEqualsTheModelAlone() async throws {
        let unbatched = try SearchService(model: fixture.model, index: fixture.index, catalog: fixture.catalog,
                                          configuration: ServeConfiguration(port: 0, cacheSize: 0, maxBatch: 1, batchWait: 0))
        let fixture = self.fixture!
        async let first = fixture.service.search(SearchRequest(text: "a red circle", k: 5))
        async let second = fixture.service.search(SearchRequest(text: "a blue triangle", k: 5))
        let batched = try await [first, second]
        let alone = [try await unbatched.search(SearchRequest(text: "a red circle", k: 5)), try await unbatched.search(SearchRequest(text: "a blue triangle", k: 5))]
        XCTAssertEqual(unbatched.metrics.encoderCounts.batches, 2)
        XCTAssertEqual(fixture.service.metrics.encoderCounts.batches, 1)
        for (a, b) in zip(batched, alone) {
            Self.assertSameHits(a.results.map { SearchHit(id: $0.id, score: $0.score) }, b.results.map { SearchHit(id: $0.id, score: $0.score) }, "")
        }
    }

    /// Same ids in the same order, scores equal up to float rounding (a batch's matrix products may sum in another order).
    static func assertSameHits(_ got: [SearchHit], _ expected: [SearchHit], _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.map(\.id), expected.map(\.id), name, file: file, line: line)
        for (a, b) in zip(got, expected) { XCTAssertEqual(a.score, b.score, accuracy: 1e-5, name, file: file, line: line) }
    }
}
