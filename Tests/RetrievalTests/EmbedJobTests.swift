import CLIP
import DataPipeline
import Distributed
import Foundation
import Retrieval
import TensorCore
import Text
import XCTest

final class EmbedJobTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    var scratch = ""

    override func setUpWithError() throws {
        scratch = NSTemporaryDirectory() + "embed-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: scratch) }

    /// clip-tiny with seeded weights and a tokenizer trained on the synthetic captions.
    func tinyModel() throws -> CLIPEmbeddingModel { try Self.tinyModel() }

    static func tinyModel() throws -> CLIPEmbeddingModel {
        let config = try CLIPConfig.load(Self.repository + "/cluster-configs/models/clip-tiny.json")
        let model = CLIPModel(config: config, seed: 3)
        let captions = (0..<200).map { (try? SyntheticShapes().source(.train).load(id: $0).caption) ?? "" }
        let tokenizer = try BPETrainer.train(corpus: captions, vocabularySize: config.text.vocabSize)
        let identity = ModelIdentity(family: "clip", configHash: "0123456789abcdef", step: 7, parametersHash: "fedcba9876543210")
        return CLIPEmbeddingModel(model: model, identity: identity, tokenizer: tokenizer)
    }

    /// Three shards of 100, 100 and 50 synthetic samples.
    func writeShards() throws -> String { try Self.writeShards(in: scratch) }

    static func writeShards(in scratch: String) throws -> String {
        let folder = scratch + "/shards"
        _ = try SyntheticShapes(imageSize: 32).writeSynthetic(split: .val, to: folder, format: .webDataset(samplesPerShard: 100), count: 250)
        let shards = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".tar") }.sorted()
        XCTAssertEqual(shards.count, 3)
        return shards.map { folder + "/" + $0 }.joined(separator: "::")
    }

    func files(in folder: String) throws -> [String: Data] {
        var contents: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) { contents[name] = FileManager.default.contents(atPath: folder + "/" + name) }
        return contents
    }

    func testEmbeddingsEqualTheModelsOwnEncodingAndARerunSkipsCompleteShards() throws {
        let model = try Self.tinyModel()
        let data = try writeShards()
        let output = scratch + "/out"
        let job = EmbedJob(input: EmbedInput(data: data), output: output, dtype: .f32, batchSize: 32, workers: 0)
        let summary = try job.run(model: model, communicator: LocalCommunicator()) { _ in }
        XCTAssertEqual([summary.embedded, summary.skipped, summary.rows], [3, 0, 250])
        let manifest = try XCTUnwrap(summary.manifest)
        XCTAssertEqual(manifest, try EmbeddingManifest.read(directory: output))
        XCTAssertEqual(manifest.shards.map(\.rows), [100, 100, 50])
        XCTAssertEqual(manifest.model, model.identity)

        // The same samples through the loader in one batch per shard and the model's own encoders, in memory.
        for (shardPath, entry) in zip(data.components(separatedBy: "::"), manifest.shards) {
            let source = try WebDatasetSource(shardSpec: shardPath)
            let loader = try DataLoader(source: source, tokenizer: model.textInput!.tokenizer,
                                        options: LoaderOptions(mode: .evaluation, batchSize: 1000, transform: ImageTransform(mode: .eval, size: 32),
                                                               contextLength: 16, workers: 0))
            let batch = try XCTUnwrap(try loader.next()).batch
            let expectedImages = withoutGradients { model.model.encodeImage(Tensor(shape: [batch.count, 3, 32, 32], values: batch.images)).values }
            let expectedTexts = withoutGradients { model.model.encodeText(batch.tokens).values }
            let images = try NumpyMatrix(decoding: try Data(contentsOf: URL(fileURLWithPath: "\(output)/\(entry.name).img.npy")), name: entry.name)
            let texts = try NumpyMatrix(decoding: try Data(contentsOf: URL(fileURLWithPath: "\(output)/\(entry.name).txt.npy")), name: entry.name)
            XCTAssertEqual([images.rows, images.columns, texts.rows], [batch.count, 64, batch.count])
            XCTAssertLessThan(zip(images.values, expectedImages).map { abs($0 - $1) }.max()!, 1e-5)
            XCTAssertLessThan(zip(texts.values, expectedTexts).map { abs($0 - $1) }.max()!, 1e-5)
            let norm = (0..<64).reduce(Float(0)) { $0 + images.values[$1] * images.values[$1] }
            XCTAssertEqual(norm, 1, accuracy: 1e-5)
            let lines = String(decoding: FileManager.default.contents(atPath: "\(output)/\(entry.name).meta.jsonl")!, as: UTF8.self)
                .split(separator: "\n").map { try! JSONDecoder().decode(EmbeddingMetadataRow.self, from: Data($0.utf8)) }
            XCTAssertEqual(lines.map(\.key), batch.keys)
            XCTAssertEqual(lines.map(\.caption), batch.captions.map { Optional($0) })
            XCTAssertEqual(Set(lines.map(\.source)), [shardPath])
        }

        // A rerun skips everything; a damaged or deleted shard is embedded again, to the same bytes.
        let first = try files(in: output)
        let again = try job.run(model: model, communicator: LocalCommunicator()) { _ in }
        XCTAssertEqual([again.embedded, again.skipped], [0, 3])
        let damaged = "\(output)/\(manifest.shards[1].name).img.npy"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: damaged))
        bytes[bytes.count - 1] ^= 1
        try bytes.write(to: URL(fileURLWithPath: damaged))
        try FileManager.default.removeItem(atPath: "\(output)/\(manifest.shards[2].name).shard.json")
        let repaired = try job.run(model: model, communicator: LocalCommunicator()) { _ in }
        XCTAssertEqual([repaired.embedded, repaired.skipped], [2, 1])
        XCTAssertEqual(try files(in: output), first)

        // Another model's shards are never taken as complete.
        var other = model.identity
        other.step = 8
        let otherModel = CLIPEmbeddingModel(model: model.model, identity: other, tokenizer: nil)
        let redone = try job.run(model: otherModel, communicator: LocalCommunicator()) { _ in }
        XCTAssertEqual([redone.embedded, redone.skipped], [3, 0])
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(output)/\(manifest.shards[0].name).txt.npy"), "a text file the new model did not write")
    }

    func testFloat16ShardsHoldTheRoundedFloat32Embeddings() throws {
        let model = try Self.tinyModel()
        let data = try writeShards()
        _ = try EmbedJob(input: EmbedInput(data: data), output: scratch + "/f32", dtype: .f32, batchSize: 64, workers: 0)
            .run(model: model, communicator: LocalCommunicator()) { _ in }
        _ = try EmbedJob(input: EmbedInput(data: data), output: scratch + "/f16", dtype: .f16, batchSize: 64, workers: 0)
            .run(model: model, communicator: LocalCommunicator()) { _ in }
        let name = try EmbeddingManifest.read(directory: scratch + "/f16").shards[0].name
        let full = try NumpyMatrix(decoding: try Data(contentsOf: URL(fileURLWithPath: "\(scratch)/f32/\(name).img.npy")), name: name)
        let half = try NumpyMatrix(decoding: try Data(contentsOf: URL(fileURLWithPath: "\(scratch)/f16/\(name).img.npy")), name: name)
        XCTAssertEqual(half.dtype, .f16)
        XCTAssertEqual(half.values, full.values.map { Float(Float16($0)) })
    }

    func testCorruptShardIsAnErrorNamingIt() throws {
        let model = try Self.tinyModel()
        let data = try writeShards()
        let victim = data.components(separatedBy: "::")[1]
        let bytes = try Data(contentsOf: URL(fileURLWithPath: victim))
        try bytes.prefix(bytes.count / 2 + 100).write(to: URL(fileURLWithPath: victim))
        let job = EmbedJob(input: EmbedInput(data: data), output: scratch + "/out", batchSize: 64, workers: 0)
        XCTAssertThrowsError(try job.run(model: model, communicator: LocalCommunicator()) { _ in }) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(victim): corrupt shard"), "\(error)")
        }
        let missing = EmbedJob(input: EmbedInput(data: scratch + "/shards/none.tar"), output: scratch + "/out", batchSize: 64, workers: 0)
        XCTAssertThrowsError(try missing.run(model: model, communicator: LocalCommunicator()) { _ in }) { error in
            XCTAssertTrue("\(error)".contains("none.tar"), "\(error)")
        }
    }

    func testIndexOfAnEmbeddingsFolderFindsItsOwnRows() throws {
        let model = try Self.tinyModel()
        let output = scratch + "/out"
        _ = try EmbedJob(input: EmbedInput(data: try writeShards()), output: output, batchSize: 64, workers: 0)
            .run(model: model, communicator: LocalCommunicator()) { _ in }
        let collection = try EmbeddingCollection(directory: output, includeTexts: true)
        XCTAssertEqual(collection.images.count, 250 * 64)
        XCTAssertEqual(collection.texts?.count, 250 * 64)
        let flat = try IndexBuilder(kind: .auto).build(embeddings: output)
        XCTAssertEqual(flat.header.kind, "flat")
        let row = Array(collection.images[(17 * 64)..<(18 * 64)])
        XCTAssertEqual(flat.search(query: row, k: 1).first?.id, 17)
        let approximate = try IndexBuilder(kind: .auto, flatThreshold: 100, lists: 8).build(embeddings: output)
        XCTAssertEqual(approximate.header.kind, "ivf")
        XCTAssertEqual(approximate.header.lists, 8)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(approximate.header.recallAt10), 0.95)
        try approximate.write(to: scratch + "/x.index")
        XCTAssertEqual(try SearchIndex.load(scratch + "/x.index", model: model.identity).search(query: row, k: 5), approximate.search(query: row, k: 5))
    }
}
