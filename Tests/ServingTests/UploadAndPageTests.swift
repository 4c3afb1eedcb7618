import Foundation
import Serving
import XCTest

final class UploadAndPageTests: XCTestCase {
    var fixture: ServingFixture!

    override func setUp() async throws { fixture = try await ServingFixture(configuration: ServeConfiguration(port: 0, maxBodyBytes: 256 << 10, maxK: 20)) }
    override func tearDown() async throws { fixture.stop() }

    func testMultipartUploadFindsTheItemAsBase64Does() async throws {
        let file = try XCTUnwrap(fixture.catalog.imageFile(9))
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: file))
        let uploaded = try await fixture.upload([("image", "item.png", bytes), ("k", nil, Data("4".utf8))])
        XCTAssertEqual(uploaded.status, 200, String(decoding: uploaded.body, as: UTF8.self))
        let hits = try ServingFixture.hits(uploaded)
        XCTAssertEqual(hits.count, 4)
        XCTAssertEqual(hits.first?.id, 9)
        let asBase64 = try await fixture.search(["image_base64": bytes.base64EncodedString(), "k": 4])
        XCTAssertEqual(hits, try ServingFixture.hits(asBase64))
        // Any file part counts when none is named "image"; k defaults to 10.
        let otherName = try await fixture.upload([("file", "item.png", bytes)])
        XCTAssertEqual(try ServingFixture.hits(otherName).count, 10)
    }

    func testBadUploadsGetA4xxWithAOneLineJSONError() async throws {
        let png = try XCTUnwrap(FileManager.default.contents(atPath: try XCTUnwrap(fixture.catalog.imageFile(0))))
        let cases: [(String, [(name: String, filename: String?, bytes: Data)], Int)] = [
            ("non-image upload", [("image", "notes.txt", Data("just some text, not a picture".utf8))], 415),
            ("no file part", [("k", nil, Data("3".utf8))], 400),
            ("empty file", [("image", "empty.png", Data())], 400),
            ("k not a number", [("image", "item.png", png), ("k", nil, Data("many".utf8))], 400),
            ("k above --max-k", [("image", "item.png", png), ("k", nil, Data("21".utf8))], 400),
            ("image and text", [("image", "item.png", png), ("text", nil, Data("a red circle".utf8))], 400),
        ]
        for (name, parts, status) in cases {
            let reply = try await fixture.upload(parts)
            let text = String(decoding: reply.body, as: UTF8.self)
            XCTAssertEqual(reply.status, status, "\(name): \(text)")
            XCTAssertEqual(text.filter { $0 == "\n" }.count, 1, "\(name): \(text)")
            XCTAssertFalse((reply.json["error"] as? String ?? "").isEmpty, "\(name): \(text)")
        }
        let noBoundary = try await fixture.request("/search", body: Data("--x\r\n".utf8), contentType: "multipart/form-data")
        XCTAssertEqual(noBoundary.status, 400)
        let truncated = try await fixture.request("/search", body: Data("--b\r\nContent-Disposition: form-data; name=\"image\"\r\n".utf8),
                                                 contentType: "multipart/form-data; boundary=b")
        XCTAssertEqual(truncated.status, 400)
        let tooLarge = try await fixture.upload([("image", "big.png", Data(count: 300 << 10))])
        XCTAssertEqual(tooLarge.status, 413)
        let health = try await fixture.request("/healthz")
        XCTAssertEqual(health.status, 200)
    }

    func testThePageIsServedAtTheRootWithItsControls() async throws {
        let page = try await fixture.request("/")
        XCTAssertEqual(page.status, 200)
        XCTAssertEqual(page.contentType, "text/html; charset=utf-8")
        let html = String(decoding: page.body, as: UTF8.self)
        for part in ["<form id=\"search\"", "id=\"drop\"", "type=\"file\"", "Search by this image", "fetch(\"/search\"", "new FormData()"] {
            XCTAssertTrue(html.contains(part), part)
        }
        XCTAssertFalse(html.contains("http://") || html.contains("https://"), "the page loads nothing from elsewhere")
    }
}
