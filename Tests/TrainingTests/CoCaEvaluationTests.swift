import CaptionMetrics
@testable import CoCa
import DataPipeline
import TensorCore
import Text
import Training
import TrainingKit
import XCTest

/// CoCa's evaluation on the fixture model: greedy captions of a few synthetic validation samples scored by CaptionMetrics,
/// the caption loss over the whole split, retrieval and zero-shot accuracy under CLIP's names.
final class CoCaEvaluationTests: XCTestCase {
    func makeEvaluation(samples: Int = 6, batchSize: Int) throws -> (CoCaEvaluation, SyntheticShapes) {
        let model = try CoCaParity(fixture: FixturePaths.cocaTiny).makeModel()
        let shapes = SyntheticShapes(seed: 0, imageSize: model.config.vision.imageSize, trainCount: 8, valCount: samples)
        // A vocabulary of the model's 1,000 ids: start 998 and end 999, as the fixture's generation uses.
        let corpus = (0..<64).map { shapes.sample(.train, index: $0 % 8).caption } + SyntheticShapes.classNames
        let tokenizer = try BPETrainer.train(corpus: corpus, vocabularySize: model.config.text.vocabSize)
        let evaluation = try CoCaEvaluation(model: model, tokenizer: tokenizer, zeroShot: shapes.zeroShotTask(),
                                            validation: shapes.source(.val), settings: Settings())
        evaluation.batchSize = batchSize
        return (evaluation, shapes)
    }

    func testCaptionScoresAreCaptionMetricsOfTheGreedyCaptions() throws {
        let (evaluation, shapes) = try makeEvaluation(batchSize: 4)
        let metrics = try evaluation.evaluate(due: nil)
        XCTAssertEqual(Set(metrics.keys), Set(evaluation.metricNames))
        for name in ["val_bleu4", "val_cider", "image_to_text_R@1", "zeroshot-val-top1", "clip_val_loss", "val_generative_loss"] {
            XCTAssertTrue(evaluation.metricNames.contains(name), name)
        }

        // The references are the samples' captions in order; the candidates the decoded greedy captions of their images.
        let examples = evaluation.lastCaptions
        XCTAssertEqual(examples.map(\.references), (0..<6).map { [shapes.sample(.val, index: $0).caption] })
        let loader = try evaluation.loader(shapes.source(.val))
        var candidates: [String] = []
        while let (batch, _) = try loader.next() {
            let rows = evaluation.model.greedyCaptions(images: evaluation.pixels(batch), limits: evaluation.limits)
            candidates += rows.map { evaluation.vocabulary.text(of: $0, padTokenId: 0) }
        }
        XCTAssertEqual(examples.map(\.candidate), candidates)

        let scores = try CaptionMetrics.score(examples)
        XCTAssertEqual(metrics["val_bleu4"], scores.bleu4)
        XCTAssertEqual(metrics["val_bleu1"], scores.bleu[0])
        XCTAssertEqual(metrics["val_cider"], scores.cider)
    }

    /// Batches of 4 and 2 give the caption loss of one batch of 6 (a mean over every target, not over batches).
    func testCaptionLossIsTheTokenMeanOverTheSplit() throws {
        let split = try makeEvaluation(batchSize: 4).0.evaluate(due: ["validation"])
        let whole = try makeEvaluation(batchSize: 6).0.evaluate(due: ["validation"])
        XCTAssertNil(split["zeroshot-val-top1"])
        XCTAssertEqual(split["val_generative_loss"]!, whole["val_generative_loss"]!, accuracy: 1e-6)
        XCTAssertEqual(split["clip_val_loss"]!, whole["clip_val_loss"]!, accuracy: 1e-6)
    }
}
