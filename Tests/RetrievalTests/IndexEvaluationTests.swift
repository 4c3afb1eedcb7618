import CLIP
import DataPipeline
import Distributed
import Foundation
import TensorCore
import TrainingKit
@testable import Retrieval
import XCTest

final class IndexEvaluationTests: XCTestCase {
    var scratch = ""

    override func setUpWithError() throws {
        scratch = NSTemporaryDirectory() + "index-eval-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: scratch) }

    func testFlatIndexEvaluationEqualsTheInMemoryRetrievalEvaluation() throws {
        let model = try EmbedJobTests.tinyModel()
        let shards = scratch + "/shards"
        _ = try SyntheticShapes(imageSize: 32).writeSynthetic(split: .val, to: shards, format: .webDataset(samplesPerShard: 60), count: 150)
        let data = try FileManager.default.contentsOfDirectory(atPath: shards).filter { $0.hasSuffix(".tar") }.sorted().map { shards + "/" + $0 }
        let embeddings = scratch + "/embeddings"
        _ = try EmbedJob(input: EmbedInput(data: data.joined(separator: "::")), output: embeddings, batchSize: 32, workers: 0)
            .run(model: model, communicator: LocalCommunicator()) { _ in }
        try IndexBuilder(kind: .flat).build(embeddings: embeddings).write(to: scratch + "/flat.index")
        let index = try SearchIndex.load(scratch + "/flat.index", model: model.identity)
        let evaluation = IndexEvaluation(k: 10, batchSize: 64)
        let metrics = try evaluation.run(index: index, model: model)
        XCTAssertEqual(Set(metrics.keys), Set(evaluation.metricNames))

        // The in-memory evaluation of the same pairs: the stored images against the captions embedded as run embeds them.
        let collection = try EmbeddingCollection(directory: embeddings)
        let captions = try EmbeddingMetadataRow.readAll(directory: embeddings).map { $0.caption! }
        XCTAssertEqual(Set(captions).count < captions.count, true, "the synthetic captions repeat, so relevance by caption text matters")
        let input = try XCTUnwrap(model.textInput)
        let texts = withoutGradients {
            stride(from: 0, to: captions.count, by: 64).flatMap { first in
                model.embedTexts(captions[first..<min(first + 64, captions.count)].flatMap { input.tokenizer.encode($0, contextLength: input.contextLength) }).values
            }
        }
        let inMemory = RetrievalMetrics.compute(imageFeatures: collection.images, textFeatures: texts, count: captions.count,
                                                dim: model.dimension, logitScale: 1, captions: captions)
        for k in RetrievalMetrics.recallCutoffs {
            XCTAssertEqual(metrics["text_to_image_R@\(k)"], inMemory["text_to_image_R@\(k)"], "R@\(k)")
        }
        XCTAssertEqual(metrics, evaluation.metrics(index: index, queries: texts, captions: captions))
        let map = try XCTUnwrap(metrics["text_to_image_mAP@10"])
        XCTAssertTrue(map > 0 && map <= 1, "\(map)")
    }

    func testMeanAveragePrecisionByHand() throws {
        // Four stored unit vectors with captions a, a, b, c; each query is paired with the row of its position.
        let vectors: [Float] = [1, 0, 0, 0.8, 0.6, 0, 0, 1, 0, 0, 0, 1]
        let index = SearchIndex(header: .init(kind: "flat", model: ModelIdentity(family: "clip", configHash: "0", step: nil, parametersHash: "0"),
                                              dimension: 3, count: 4, embeddings: ""),
                                index: FlatIndex(vectors: vectors, dimension: 3))
        let queries: [Float] = [0.7, 0.6, 0.9] + [0.8, 0.6, 0] + [0, 1, 0] + [0, 0, 1]
        let metrics = IndexEvaluation(k: 3).metrics(index: index, queries: queries.chunked(3).flatMap(SyntheticCollection.unit), captions: ["a", "a", "b", "c"])
        // Query 0 ("a") ranks rows 1 (a), 3 (c), 0 (a): AP@3 = (1/1 + 2/3) / 2; the other queries find their only or both
        // relevant rows first.
        let ap0 = (1.0 / 1 + 2.0 / 3) / 2
        XCTAssertEqual(try XCTUnwrap(metrics["text_to_image_mAP@3"]), (ap0 + 1 + 1 + 1) / 4, accuracy: 1e-9)
        XCTAssertEqual(metrics["text_to_image_R@1"], 1)
    }
}

extension Array {
    func chunked(_ size: Int) -> [[Element]] { stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) } }
}

final class SyntheticCollectionTests: XCTestCase {
    func testTheRealRowsComeFirstAndTheFolderIndexesWithItsModel() throws {
        let scratch = NSTemporaryDirectory() + "synthetic-collection-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let model = try EmbedJobTests.tinyModel()
        _ = try SyntheticShapes(imageSize: 32).writeSynthetic(split: .val, to: scratch + "/images", format: .imageFolder, count: 20)
        _ = try EmbedJob(input: EmbedInput(data: scratch + "/images"), output: scratch + "/real", batchSize: 8, workers: 0)
            .run(model: model, communicator: LocalCommunicator()) { _ in }
        var synthetic = SyntheticCollection(rows: 1_250, clusters: 10)
        synthetic.shardRows = 500
        try synthetic.write(extending: scratch + "/real", to: scratch + "/big")

        let real = try EmbeddingCollection(directory: scratch + "/real", includeTexts: true)
        let big = try EmbeddingCollection(directory: scratch + "/big", includeTexts: true)
        XCTAssertEqual(big.manifest.rows, 1_250)
        XCTAssertEqual(big.manifest.model, model.identity)
        XCTAssertEqual(big.manifest.shards.map(\.rows), [20, 500, 500, 230])
        XCTAssertEqual(Array(big.images.prefix(real.images.count)), real.images)
        let metadata = try EmbeddingMetadataRow.readAll(directory: scratch + "/big")
        XCTAssertEqual(Array(metadata.prefix(20)), try EmbeddingMetadataRow.readAll(directory: scratch + "/real"))
        for row in [20, 700, 1_249] {
            let vector = big.images[(row * 64)..<((row + 1) * 64)], caption = try XCTUnwrap(big.texts)[(row * 64)..<((row + 1) * 64)]
            XCTAssertEqual(Double(vector.reduce(0) { $0 + $1 * $1 }), 1, accuracy: 1e-4)
            XCTAssertGreaterThan(zip(vector, caption).reduce(0) { $0 + $1.0 * $1.1 }, 0.8, "a caption is near its image")
        }
        try IndexBuilder(kind: .approx, lists: 20).build(embeddings: scratch + "/big").write(to: scratch + "/big.index")
        let index = try SearchIndex.load(scratch + "/big.index", model: model.identity)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(index.header.recallAt10), 0.9)
    }
}
