import Foundation
import Serving
import XCTest

final class ServiceEndpointTests: XCTestCase {
    var fixture: ServingFixture!

    override func setUp() async throws { fixture = try await ServingFixture(configuration: ServeConfiguration(port: 0, maxBodyBytes: 64 << 10, maxK: 20)) }
    override func tearDown() async throws { fixture.stop() }

    func testItemImageIsTheSourceFileAndUnknownItemsAre404() async throws {
        let image = try await fixture.request("/items/4/image")
        XCTAssertEqual(image.status, 200)
        XCTAssertEqual(image.contentType, "image/png")
        XCTAssertEqual(image.body, FileManager.default.contents(atPath: try XCTUnwrap(fixture.catalog.imageFile(4))))
        let missing = try await fixture.request("/items/\(fixture.catalog.count)/image")
        XCTAssertEqual(missing.status, 404)
        XCTAssertNotNil(missing.json["error"] as? String)
        let notANumber = try await fixture.request("/items/four/image")
        XCTAssertEqual(notANumber.status, 400)
    }

    func testHealthzAndMetricsCountRequestsByRouteAndStatus() async throws {
        let health = try await fixture.request("/healthz")
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(health.json["status"] as? String, "ok")
        XCTAssertEqual(health.json["items"] as? Int, fixture.catalog.count)
        _ = try await fixture.search(["text": "a blue square", "k": 2])
        _ = try await fixture.search(["text": "a blue square", "k": 2])
        _ = try await fixture.search(["k": 2])
        let metrics = try await fixture.request("/metrics")
        XCTAssertEqual(metrics.status, 200)
        let text = String(decoding: metrics.body, as: UTF8.self)
        XCTAssertTrue(text.contains("swiftclip_http_requests_total{route=\"/search\",status=\"200\"} 2"), text)
        XCTAssertTrue(text.contains("swiftclip_http_requests_total{route=\"/search\",status=\"400\"} 1"), text)
        XCTAssertTrue(text.contains("swiftclip_http_requests_total{route=\"/healthz\",status=\"200\"} 1"), text)
        XCTAssertTrue(text.contains("swiftclip_http_request_duration_seconds_count{route=\"/search\"} 3"), text)
        XCTAssertTrue(text.contains("swiftclip_text_cache_hits_total 1\n"), text)
        XCTAssertTrue(text.contains("swiftclip_text_cache_misses_total 1\n"), text)
    }

    func testBadInputGetsA4xxWithAOneLineJSONErrorAndTheServerKeepsServing() async throws {
        let notAnImage = Data("just some text, not a picture".utf8).base64EncodedString()
        let cases: [(String, Data, Int)] = [
            ("malformed JSON", Data("{\"text\": ".utf8), 400),
            ("empty text", try JSONSerialization.data(withJSONObject: ["text": "   ", "k": 3]), 400),
            ("no query", try JSONSerialization.data(withJSONObject: ["k": 3]), 400),
            ("two queries", try JSONSerialization.data(withJSONObject: ["text": "a circle", "embedding": [1.0], "k": 3]), 400),
            ("k of 0", try JSONSerialization.data(withJSONObject: ["text": "a circle", "k": 0]), 400),
            ("k above --max-k", try JSONSerialization.data(withJSONObject: ["text": "a circle", "k": 21]), 400),
            ("wrong dimension", try JSONSerialization.data(withJSONObject: ["embedding": [0.5, 0.5], "k": 3]), 400),
            ("not base64", try JSONSerialization.data(withJSONObject: ["image_base64": "***", "k": 3]), 400),
            ("non-image upload", try JSONSerialization.data(withJSONObject: ["image_base64": notAnImage, "k": 3]), 415),
            ("oversized body", try JSONSerialization.data(withJSONObject: ["text": String(repeating: "a ", count: 40_000), "k": 3]), 413),
        ]
        for (name, body, status) in cases {
            let reply = try await fixture.request("/search", body: body)
            let text = String(decoding: reply.body, as: UTF8.self)
            XCTAssertEqual(reply.status, status, "\(name): \(text)")
            XCTAssertEqual(reply.contentType, "application/json", name)
            XCTAssertEqual(text.filter { $0 == "\n" }.count, 1, "\(name): \(text)")
            XCTAssertFalse((reply.json["error"] as? String ?? "").isEmpty, "\(name): \(text)")
            let health = try await fixture.request("/healthz")
            XCTAssertEqual(health.status, 200, "after \(name)")
        }
        let unknown = try await fixture.request("/nowhere")
        XCTAssertEqual(unknown.status, 404)
        XCTAssertNotNil(unknown.json["error"] as? String)
        let good = try await fixture.search(["text": "a circle", "k": 20])
        XCTAssertEqual(good.status, 200)
        XCTAssertEqual((good.json["results"] as? [Any])?.count, 20)
    }
}
