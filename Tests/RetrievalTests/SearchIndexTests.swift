import DataPipeline
import Foundation
import TensorCore
@testable import Retrieval
import XCTest

final class SearchIndexTests: XCTestCase {
    var scratch = ""

    override func setUpWithError() throws {
        scratch = NSTemporaryDirectory() + "index-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: scratch) }

    /// `count` unit vectors around `centers` random directions (or uniformly random without centers), seeded.
    static func unitVectors(_ count: Int, dimension: Int, centers: Int = 0, spread: Float = 0.3, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        func gaussian() -> Float {
            let u = max(Double(rng.next() >> 11) / Double(1 << 53), 1e-12), v = Double(rng.next() >> 11) / Double(1 << 53)
            return Float((-2 * Foundation.log(u)).squareRoot() * Foundation.cos(2 * Double.pi * v))
        }
        func normalized(_ v: [Float]) -> [Float] { let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot(); return v.map { $0 / n } }
        let middles = (0..<centers).map { _ in normalized((0..<dimension).map { _ in gaussian() }) }
        return (0..<count).flatMap { i -> [Float] in
            let noise = (0..<dimension).map { _ in gaussian() }
            guard centers > 0 else { return normalized(noise) }
            return normalized(zip(middles[i % centers], noise).map { $0 + spread / Float(dimension).squareRoot() * $1 })
        }
    }

    /// Every score by plain loops, sorted best first (ties: lower id).
    static func bruteForce(_ vectors: [Float], _ query: ArraySlice<Float>, dimension: Int, k: Int) -> [SearchHit] {
        let q = Array(query)
        let hits = (0..<(vectors.count / dimension)).map { row in
            SearchHit(id: row, score: (0..<dimension).reduce(Float(0)) { $0 + vectors[row * dimension + $1] * q[$1] })
        }
        return Array(hits.sorted { $0.ranksBefore($1) }.prefix(k))
    }

    func testFlatSearchEqualsBruteForceAcrossBlocks() {
        let d = 16, vectors = Self.unitVectors(FlatIndex.blockRows + 1500, dimension: d, seed: 1)
        let queries = Self.unitVectors(12, dimension: d, seed: 2)
        let results = FlatIndex(vectors: vectors, dimension: d).search(queries: queries, k: 10)
        XCTAssertEqual(results.count, 12)
        for q in 0..<12 {
            let expected = Self.bruteForce(vectors, queries[(q * d)..<((q + 1) * d)], dimension: d, k: 10)
            XCTAssertEqual(results[q].map(\.id), expected.map(\.id))
            for (got, want) in zip(results[q], expected) { XCTAssertEqual(got.score, want.score, accuracy: 1e-5) }
        }
        XCTAssertEqual(FlatIndex(vectors: Array(vectors.prefix(3 * d)), dimension: d).search(query: Array(queries.prefix(d)), k: 10).count, 3)
    }

    func testIVFRecallOnClusteredDataAndItsOwnVectorsFound() {
        let d = 32, n = 6000
        let drawn = Self.unitVectors(n + 200, dimension: d, centers: 60, seed: 3)  // queries from the same clusters, not stored
        let vectors = Array(drawn.prefix(n * d)), queries = Array(drawn.suffix(200 * d))
        let ivf = IVFIndex(vectors: vectors, dimension: d, lists: 64, nprobe: 4)
        XCTAssertEqual(ivf.count, n)
        XCTAssertEqual(Set(ivf.ids), Set(0..<n))
        let exact = FlatIndex(vectors: vectors, dimension: d).search(queries: queries, k: 10)
        let recall = IndexBuilder.recall(ivf.search(queries: queries, k: 10), exact: exact)
        XCTAssertGreaterThan(recall, 0.9, "recall@10 with nprobe 4 of 64")
        ivf.nprobe = ivf.lists
        XCTAssertEqual(IndexBuilder.recall(ivf.search(queries: queries, k: 10), exact: exact), 1, "probing every list is exact")
    }

    func testIndexFileRoundTripsAndRefusesDamageAndOtherModels() throws {
        let d = 8, vectors = Self.unitVectors(500, dimension: d, centers: 5, seed: 4)
        let model = ModelIdentity(family: "clip", configHash: "aaaaaaaaaaaaaaaa", step: 10, parametersHash: "bbbbbbbbbbbbbbbb")
        var header = SearchIndex.Header(kind: "ivf", model: model, dimension: d, count: 500, embeddings: "/e")
        let ivf = IVFIndex(vectors: vectors, dimension: d, lists: 10, nprobe: 3)
        header.lists = 10
        header.nprobe = 3
        let path = scratch + "/a.index"
        try SearchIndex(header: header, index: ivf).write(to: path)
        let loaded = try SearchIndex.load(path, model: model)
        let queries = Array(vectors.prefix(5 * d))
        XCTAssertEqual(loaded.search(queries: queries, k: 7), ivf.search(queries: queries, k: 7))

        var other = model
        other.step = 11
        XCTAssertThrowsError(try SearchIndex.load(path, model: other)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix(path + ": built from embeddings of model"), message)
            XCTAssertTrue(message.contains("step 10") && message.contains("step 11"), message)
        }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count - 3] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try SearchIndex.load(path, model: model)) { error in
            XCTAssertEqual("\(error)", "\(path): payload checksum mismatch (damaged file)")
        }
        try Data("SCLIPIX1 but nothing else, really nothing".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try SearchIndex.load(path)) { error in XCTAssertTrue("\(error)".hasPrefix(path + ": "), "\(error)") }
    }
}
