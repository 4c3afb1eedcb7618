import Foundation
@testable import Fusion
import NN
import TensorCore
import XCTest

final class ModalityDropoutTests: XCTestCase {
    let indices = (0..<4000).map { Int32($0) }

    func testDrawsDependOnSeedAndIndexOnly() {
        let a = ModalityPresence.dropout(probability: 0.3, seed: 9, sampleIndices: indices, modalities: 2)
        let reordered = ModalityPresence.dropout(probability: 0.3, seed: 9, sampleIndices: Array(indices.reversed()), modalities: 2)
        XCTAssertEqual(Array(reordered.values.chunked(2).reversed().joined()), a.values)
        XCTAssertNotEqual(ModalityPresence.dropout(probability: 0.3, seed: 10, sampleIndices: indices, modalities: 2).values, a.values)
    }

    func testEverySampleKeepsAModalityAndTheRateIsP() {
        for modalities in [2, 3] {
            let presence = ModalityPresence.dropout(probability: 0.3, seed: 1, sampleIndices: indices, modalities: modalities)
            let rows = presence.values.chunked(modalities)
            XCTAssertTrue(rows.allSatisfy { $0.contains(1) })
            // Dropped share: p minus the rows where all draws fell below p and one was restored (p^M / M of entries).
            let dropped = Double(presence.values.filter { $0 == 0 }.count) / Double(presence.values.count)
            let expected = 0.3 - pow(0.3, Double(modalities)) / Double(modalities)
            XCTAssertEqual(dropped, expected, accuracy: 0.02, "\(modalities) modalities")
        }
        XCTAssertFalse(ModalityPresence.dropout(probability: 0, seed: 1, sampleIndices: indices, modalities: 2).values.contains(0))
    }

    /// A sample without a modality gets the same logits whatever the dropped modality's input holds (late: its logits
    /// leave the average; gated: its gate input is zeroed and its gate removed; early: its tokens are outside the key
    /// count), and late fusion then equals the other modality's classifier alone.
    func testDroppedModalityHasNoInfluence() {
        for kind in [FusionKind.late, .gated, .early, .earlyCrossAttention] {
            let task = TinyFusion.task(kind, learned: true)
            let batch = TinyFusion.batch(count: 3)
            // Changing the image, or the text's words, of every sample.
            var otherImage = batch, otherText = batch
            otherImage.tensors["image"] = batch.tensor("image") * 3 + 1
            otherText.integers["text"] = batch.rows("text").map { $0 == 7 || $0 == 0 ? $0 : 7 - $0 }
            for (dropped, other) in [(0, otherImage), (1, otherText)] {
                let without = ModalityPresence.without(dropped, samples: 3, modalities: 2)
                let a = withoutGradients { task.logits(batch, presence: without).values }
                let b = withoutGradients { task.logits(other, presence: without).values }
                XCTAssertEqual(a, b, "\(kind) without modality \(dropped)")
                let present = withoutGradients { task.logits(other, presence: .all(samples: 3, modalities: 2)).values }
                XCTAssertNotEqual(a, present, "\(kind): modality \(dropped) should matter when present")
            }
        }
        let task = TinyFusion.task(.late)
        let batch = TinyFusion.batch(count: 3)
        withoutGradients {
            let features = task.model.features(images: batch.tensor("image"), tokens: batch.rows("text"))
            let textOnly = task.model.late!.classifiers[1](features[1]).values
            let fused = task.logits(batch, presence: .without(0, samples: 3, modalities: 2)).values
            for (x, y) in zip(textOnly, fused) { XCTAssertEqual(x, y, accuracy: 1e-6) }
        }
    }

    /// Early fusion's order: fusion token, present modalities' tokens, then the dropped ones, outside the key count.
    func testEarlyFusionPutsPresentTokensFirst() {
        let presence = ModalityPresence(values: [1, 1, 0, 1], samples: 2, modalities: 2)
        let order = EarlyFusionHead.presentFirst(presence, lengths: [2, 3])
        // Sample 1 (rows from 6): fusion token 6, its text 9, 10, 11, then its dropped image 7, 8.
        XCTAssertEqual(order.rows, [0, 1, 2, 3, 4, 5, 6, 9, 10, 11, 7, 8] as [Int32])
        XCTAssertEqual(order.keyCounts, [6, 4])
    }

    /// Training forwards apply the draw for each sample's index; with dropout off every modality stays.
    func testTrainingForwardUsesTheDraw() {
        let batch = TinyFusion.batch(count: 64)
        let dropping = TinyFusion.task(.gated, dropout: 0.5, seed: 2)
        let keeping = TinyFusion.task(.gated, dropout: 0, seed: 2)
        let expected = ModalityPresence.dropout(probability: 0.5, seed: 2, sampleIndices: batch.rows("sample_index"), modalities: 2)
        withoutGradients {
            XCTAssertEqual(dropping.forward(batch).local!.scalar,
                           dropping.logits(batch, presence: expected).crossEntropy(labels: batch.rows("label")).scalar)
            XCTAssertEqual(keeping.forward(batch).local!.scalar,
                           keeping.logits(batch, presence: .all(samples: 64, modalities: 2)).crossEntropy(labels: batch.rows("label")).scalar)
            XCTAssertNotEqual(dropping.forward(batch).local!.scalar, keeping.forward(batch).local!.scalar)
        }
    }
}

extension Array {
    func chunked(_ size: Int) -> [[Element]] { stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) } }
}
