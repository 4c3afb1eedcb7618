import Foundation
import Retrieval
import Serving
import XCTest

final class SearchEndpointTests: XCTestCase {
    var fixture: ServingFixture!

    override func setUp() async throws { fixture = try await ServingFixture() }
    override func tearDown() async throws { fixture.stop() }

    func testTextSearchEqualsTheIndexAndARepeatedQueryComesFromTheCache() async throws {
        let text = "a photo of a red circle"
        let first = try await fixture.search(["text": text, "k": 5])
        XCTAssertEqual(first.status, 200, String(decoding: first.body, as: UTF8.self))
        let input = try XCTUnwrap(fixture.model.textInput)
        let query = fixture.model.embedTexts(input.tokenizer.encode(text, contextLength: input.contextLength)).values
        let expected = fixture.index.search(query: query, k: 5)
        XCTAssertEqual(expected.count, 5)
        XCTAssertEqual(try ServingFixture.hits(first), expected)
        XCTAssertEqual(first.json["cached"] as? Bool, false)
        XCTAssertNotNil(first.json["took_ms"] as? Double)

        let again = try await fixture.search(["text": text, "k": 5])
        XCTAssertEqual(again.json["cached"] as? Bool, true)
        XCTAssertEqual(try ServingFixture.hits(again), expected)
        XCTAssertEqual(fixture.service.metrics.cacheCounts.hits, 1)
        XCTAssertEqual(fixture.service.metrics.cacheCounts.misses, 1)

        // Each result names its caption and image URL.
        let results = try XCTUnwrap(first.json["results"] as? [[String: Any]])
        for result in results {
            let id = try XCTUnwrap(result["id"] as? Int)
            XCTAssertEqual(result["caption"] as? String, fixture.catalog.caption(id))
            XCTAssertEqual(result["image_url"] as? String, "/items/\(id)/image")
        }
    }

    func testEmbeddingAndImageSearchFindTheStoredItem() async throws {
        let collection = try EmbeddingCollection(directory: fixture.index.header.embeddings)
        let dimension = fixture.index.header.dimension
        let row = Array(collection.images[(7 * dimension)..<(8 * dimension)])
        let byEmbedding = try await fixture.search(["embedding": row.map(Double.init), "k": 3])
        XCTAssertEqual(byEmbedding.status, 200, String(decoding: byEmbedding.body, as: UTF8.self))
        XCTAssertEqual(try ServingFixture.hits(byEmbedding), fixture.index.search(query: row, k: 3))
        XCTAssertEqual(try ServingFixture.hits(byEmbedding).first?.id, 7)

        // The item's own image file, uploaded, goes through the same transform as at embedding time.
        let file = try XCTUnwrap(fixture.catalog.imageFile(11))
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: file))
        let byImage = try await fixture.search(["image_base64": bytes.base64EncodedString(), "k": 3])
        XCTAssertEqual(byImage.status, 200, String(decoding: byImage.body, as: UTF8.self))
        let hits = try ServingFixture.hits(byImage)
        XCTAssertEqual(hits.first?.id, 11)
        XCTAssertEqual(Double(try XCTUnwrap(hits.first?.score)), 1, accuracy: 1e-4)
        XCTAssertEqual(byImage.json["cached"] as? Bool, false)
    }
}
