@testable import Bind
import DataPipeline
import Foundation
import TensorCore
import Text
import TrainingKit
import XCTest

/// The bind metrics over embeddings built directly: names, directions, the caption rule and emergent zero-shot.
final class BindEvaluationTests: XCTestCase {
    /// Ids from the caption's characters, so different captions give different rows.
    struct CharacterTokenizer: TextTokenizer {
        var vocabularySize: Int { 50 }
        func encode(_ text: String, contextLength: Int) -> [Int32] {
            let ids = [Int32(1)] + text.unicodeScalars.prefix(contextLength - 2).map { Int32(2 + Int($0.value) % 46) } + [Int32(49)]
            return ids + [Int32](repeating: 0, count: contextLength - ids.count)
        }
    }

    func evaluation(classes: ZeroShotTask? = nil) throws -> BindEvaluation {
        let model = BindModel(config: try BindTaskTests.config(), seed: 2)
        let options = LoaderOptions(mode: .evaluation, batchSize: 4, transform: ImageTransform(mode: .eval, size: 16))
        let data = SyntheticShapes(imageSize: 16, trainCount: 4, valCount: 4)
        return BindEvaluation(model: model, tokenizer: CharacterTokenizer(), validation: data.source(.val), classes: classes,
                              loaderOptions: options, settings: Settings())
    }

    /// Unit rows: row i of `count` along axis i mod dim, turned by `angle` towards the next axis.
    func rows(_ count: Int, dim: Int, angle: Float = 0) -> [Float] {
        var values = [Float](repeating: 0, count: count * dim)
        for i in 0..<count {
            values[i * dim + i % dim] = Foundation.cos(angle)
            values[i * dim + (i + 1) % dim] += Foundation.sin(angle)
        }
        return values
    }

    func testAudioImageRetrievalIsNamedByDirection() throws {
        let evaluation = try evaluation()
        var embedded = BindEvaluation.Embedded()
        embedded.count = 8
        embedded.audio = rows(8, dim: 8, angle: 0.1)
        embedded.images = rows(8, dim: 8)
        let metrics = evaluation.metrics(embedded)
        XCTAssertEqual(metrics["audio_to_image_R@1"], 1)
        XCTAssertEqual(metrics["image_to_audio_R@1"], 1)
        XCTAssertEqual(metrics["audio_to_image_median_rank"], 1)
        XCTAssertNotNil(metrics["bind_val_loss"])
        XCTAssertNil(metrics["audio_to_text_R@1"], "no captions, no emergent text retrieval")
        XCTAssertNil(metrics["image_to_text_R@1"])
        XCTAssert(Set(metrics.keys).isSubset(of: evaluation.metricNames), "\(metrics.keys.sorted())")
    }

    /// Shifted audio: sample i's audio matches image i+1, so every audio→image query misses at R@1.
    func testMismatchedPairsMiss() throws {
        let evaluation = try evaluation()
        var embedded = BindEvaluation.Embedded()
        embedded.count = 8
        embedded.images = rows(8, dim: 8)
        embedded.audio = Array(embedded.images[8...] + embedded.images[..<8])
        let metrics = evaluation.metrics(embedded)
        XCTAssertEqual(metrics["audio_to_image_R@1"], 0)
        XCTAssertEqual(metrics["audio_to_image_R@10"], 1)
    }

    /// Emergent metrics come from the model's own text tower: captions embedded by it, audio set equal to them, is
    /// retrieved perfectly; class prompts embedded by it classify audio equal to a class's embedding.
    func testEmergentTextRetrievalAndZeroShotUseTheCLIPTextTower() throws {
        let classes = ZeroShotTask(classNames: ["red", "green", "blue"], templates: ["a {} one"],
                                   source: SyntheticShapes(imageSize: 16, trainCount: 1, valCount: 1).source(.val))
        let evaluation = try evaluation(classes: classes)
        let model = evaluation.model, tokenizer = evaluation.tokenizer
        let captions = ["a red one", "a green one", "a blue one", "a red one"]
        let texts = model.encodeText(tokenizer.encodeBatch(captions, contextLength: 8)).values
        var embedded = BindEvaluation.Embedded()
        embedded.count = 4
        embedded.images = rows(4, dim: 8)
        embedded.audio = texts
        embedded.texts = texts
        embedded.captions = captions
        embedded.labels = [0, 1, 2, 0]
        let metrics = evaluation.metrics(embedded)
        XCTAssertEqual(metrics["audio_to_text_R@1"], 1)
        XCTAssertEqual(metrics["text_to_audio_R@1"], 1)
        XCTAssertEqual(metrics["zeroshot-audio-top1"], 1)
        XCTAssertEqual(metrics["zeroshot-audio-top5"], 1)
        // Wrong labels are counted as wrong.
        embedded.labels = [1, 2, 0, 1]
        XCTAssertEqual(evaluation.metrics(embedded)["zeroshot-audio-top1"], 0)
    }
}
