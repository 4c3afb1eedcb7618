import CaptionMetrics
@testable import CoCa
import DataPipeline
import Foundation
import TensorCore
import Text
import Training
import TrainingKit
import XCTest

/// CoCa's evaluation against several references per image (CSV rows of one image, a WebDataset sample's JSON `captions`),
/// its two baselines, and bad input: captions longer than the context, images that do not decode.
final class CoCaReferenceCaptionTests: XCTestCase {
    var folder: String!
    let shapes = SyntheticShapes(seed: 0, imageSize: 32, trainCount: 8, valCount: 6)

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("coca-refs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

    func makeEvaluation(validation: SampleSource, training: SampleSource? = nil) throws -> CoCaEvaluation {
        let model = try CoCaParity(fixture: FixturePaths.cocaTiny).makeModel()
        let corpus = (0..<8).map { shapes.sample(.train, index: $0).caption } + SyntheticShapes.classNames
        let tokenizer = try BPETrainer.train(corpus: corpus, vocabularySize: model.config.text.vocabSize)
        let evaluation = try CoCaEvaluation(model: model, tokenizer: tokenizer, zeroShot: nil, validation: validation, training: training,
                                            settings: Settings())
        evaluation.batchSize = 4
        return evaluation
    }

    /// The greedy caption of each image file, as the evaluation generates it.
    func greedyCaptions(_ evaluation: CoCaEvaluation, files: [String]) throws -> [String] {
        let transform = ImageTransform(mode: .eval, size: 32)
        var rng = ImageTransform.augmentationRandom(seed: 0, epoch: 0, position: 0)
        let pixels = try files.flatMap { transform.apply(try ImageDecoder.decode([UInt8](FileManager.default.contents(atPath: $0)!), name: $0), rng: &rng) }
        let rows = evaluation.model.greedyCaptions(images: Tensor(shape: [files.count, 3, 32, 32], values: pixels), limits: evaluation.limits)
        return rows.map { evaluation.vocabulary.text(of: $0, padTokenId: 0) }
    }

    func testCSVRowsOfOneImageAreOneImageWithEveryCaptionAsReference() throws {
        let csv = try shapes.writeSynthetic(split: .val, to: folder, format: .csv, count: 3)
        // Image 0 twice (its own caption and another), image 1 once, image 2 three times; rows of image 2 are not adjacent.
        let rows = [(0, "a red circle"), (1, "a blue square"), (2, "three"), (0, "a round red thing"), (2, "green"), (2, "green")]
        let lines = ["filepath\ttitle"] + rows.map { "images/0000000\($0.0).png\t\($0.1)" }
        try (lines.joined(separator: "\n") + "\n").write(toFile: csv, atomically: true, encoding: .utf8)
        let evaluation = try makeEvaluation(validation: try CSVSource(csvSpec: csv))
        let metrics = try evaluation.evaluate(due: ["validation"])

        let examples = evaluation.lastCaptions
        XCTAssertEqual(examples.map(\.references), [["a red circle", "a round red thing"], ["a blue square"], ["three", "green", "green"]])
        let files = (0..<3).map { folder + "/images/0000000\($0).png" }
        XCTAssertEqual(examples.map(\.id), files)
        XCTAssertEqual(examples.map(\.candidate), try greedyCaptions(evaluation, files: files))
        let scores = try CaptionMetrics.score(examples)
        XCTAssertEqual(metrics["val_cider"], scores.cider)
        XCTAssertEqual(metrics["val_bleu4"], scores.bleu4)
        // Retrieval still reads every row.
        XCTAssertNotNil(metrics["image_to_text_R@1"])
    }

    func testJSONCaptionsListAddsReferencesAndASampleWithoutJSONKeepsItsCaption() throws {
        let png = { (i: Int) in try PNGCodec.encode(self.shapes.sample(.val, index: i).image) }
        let shard = folder + "/val-000.tar"
        let writer = try TarWriter(path: shard)
        try writer.add(name: "a.png", contents: try png(0))
        try writer.add(name: "a.txt", contents: Array("grinning face".utf8))
        try writer.add(name: "a.json", contents: Array(#"{"captions": ["grinning face", "face, grin"], "name": "x"}"#.utf8))
        try writer.add(name: "b.png", contents: try png(1))
        try writer.add(name: "b.txt", contents: Array("red apple".utf8))
        try writer.add(name: "c.png", contents: try png(2))
        try writer.add(name: "c.txt", contents: Array("cat".utf8))
        try writer.add(name: "c.json", contents: Array(#"{"group": 3}"#.utf8))
        try writer.finish()
        var options = DataSourceOptions(data: shard)
        options.optionalFields = [.json]
        let evaluation = try makeEvaluation(validation: try options.makeSource())
        let metrics = try evaluation.evaluate(due: ["validation"])
        XCTAssertEqual(evaluation.lastCaptions.map(\.references), [["grinning face", "face, grin"], ["red apple"], ["cat"]])
        XCTAssertEqual(metrics["val_cider"], try CaptionMetrics.score(evaluation.lastCaptions).cider)

        let bad = folder + "/bad-000.tar"
        let badWriter = try TarWriter(path: bad)
        try badWriter.add(name: "a.png", contents: try png(0))
        try badWriter.add(name: "a.txt", contents: Array("x".utf8))
        try badWriter.add(name: "a.json", contents: Array(#"{"captions": "not a list"}"#.utf8))
        try badWriter.finish()
        options.data = bad
        XCTAssertThrowsError(try makeEvaluation(validation: try options.makeSource()).evaluate(due: ["validation"])) {
            XCTAssertTrue("\($0)".contains("bad-000.tar:a: json \"captions\" is not a list of strings"), "\($0)")
        }
    }

    func testMostFrequentCaptionAndItsTieBreak() {
        XCTAssertEqual(CaptionBaselines.mostFrequent(["b c", "a", "b c", "a d"]), "b c")
        // All unique: the caption whose words are the most frequent on average ("red face": face 3, red 2).
        XCTAssertEqual(CaptionBaselines.mostFrequent(["red face", "cat face", "face", "red apple", "zebra"]), "face")
        XCTAssertEqual(CaptionBaselines.mostFrequent(["b", "a"]), "a")
        XCTAssertNil(CaptionBaselines.mostFrequent([]))
        XCTAssertEqual(CaptionBaselines.nearest(queries: [1, 0, 0, 1], keys: [0, 1, 0.6, 0.8, 1, 0], dim: 2), [2, 0])
    }

    /// With the validation split as its own training split, every image's nearest training image is itself, so the nearest
    /// baseline writes the references: BLEU-4 1; the frequent baseline writes one caption for all.
    func testBaselinesAreScoredByTheSameCode() throws {
        let evaluation = try makeEvaluation(validation: shapes.source(.val), training: shapes.source(.val))
        let metrics = try evaluation.evaluate(due: ["validation"])
        XCTAssertEqual(Set(metrics.keys), Set(evaluation.metricNames))
        let examples = evaluation.lastCaptions
        let own = try CaptionMetrics.score(examples.map { CaptionExample(id: $0.id, references: $0.references, candidate: $0.references[0]) })
        XCTAssertEqual(metrics["val_bleu4_baseline_nearest"]!, 1, accuracy: 1e-9)
        XCTAssertEqual(metrics["val_cider_baseline_nearest"], own.cider)
        let frequent = CaptionBaselines.mostFrequent(examples.map { $0.references[0] })!
        let constant = try CaptionMetrics.score(examples.map { CaptionExample(id: $0.id, references: $0.references, candidate: frequent) })
        XCTAssertEqual(metrics["val_bleu4_baseline_frequent"], constant.bleu4)
        XCTAssertEqual(metrics["val_cider_baseline_frequent"], constant.cider)
    }

    /// A caption longer than the context is cut as OpenCLIP's tokenizer cuts it (start, the first context - 2 ids, end) and
    /// trains; an image that does not decode is replaced in training (counted) and dropped in evaluation.
    func testLongCaptionsAreTruncatedAndUndecodableImagesSkippedAndCounted() throws {
        let csv = try shapes.writeSynthetic(split: .train, to: folder, format: .csv, count: 8)
        let long = Array(repeating: "a large red circle in the top left", count: 10).joined(separator: " and ")
        var lines = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").map(String.init)
        lines[1] = "images/00000000.png\t" + long
        try (lines.joined(separator: "\n") + "\n").write(toFile: csv, atomically: true, encoding: .utf8)
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: folder + "/images/00000003.png"))

        var settings = Settings()
        settings.model = FixturePaths.cocaTiny + "/config.json"
        settings.datasetType = .csv
        settings.trainData = csv
        settings.valData = csv
        settings.batchSize = 8
        let task = try CoCaFamily.makeTask(settings: settings) as! CoCaTask
        let context = RunContext(settings: settings, runDirectory: folder + "/run")
        let data = try task.trainingData(context) as! LoaderDataSource
        let batch = try data.next()
        XCTAssertEqual(batch.count, 8)
        XCTAssertEqual(data.skipped, 1)
        XCTAssertEqual(batch.skipped, 1)

        let tokenizer = try task.tokenizer(context) as! TrainedBPETokenizer
        let length = task.model.config.text.contextLength
        let cut = tokenizer.encode(long, contextLength: length)
        let whole = tokenizer.encodeUnpadded(long, contextLength: 1000)
        XCTAssertGreaterThan(whole.count, length)
        XCTAssertEqual(cut, Array(whole.prefix(length - 1)) + [whole.last!])
        let tokens = batch.integers["text"]!
        let rows = stride(from: 0, to: tokens.count, by: length).map { Array(tokens[$0..<($0 + length)]) }
        XCTAssertTrue(rows.contains(cut))
        let loss = withoutGradients { task.forward(batch).local!.scalar }
        XCTAssertTrue(loss.isFinite)

        let evaluation = try task.evaluation(context) as! CoCaEvaluation
        _ = try evaluation.evaluate(due: ["validation"])
        XCTAssertEqual(evaluation.lastCaptions.count, 7)
        XCTAssertFalse(evaluation.lastCaptions.map(\.id).contains(folder + "/images/00000003.png"))
    }
}
