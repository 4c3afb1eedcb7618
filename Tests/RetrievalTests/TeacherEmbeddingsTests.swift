import CLIP
import DataPipeline
import Distributed
import Foundation
import Retrieval
import TensorCore
import TrainingKit
import XCTest

/// `--distill-embeddings`: a teacher's embeddings written once by `swiftclip embed` and looked up by sample key give the
/// live teacher's embeddings of the same batch, and so the same distillation loss and gradients, to storage precision.
final class TeacherEmbeddingsTests: XCTestCase {
    func testEmbeddingsFromDiskGiveTheLiveTeachersLoss() throws {
        let scratch = NSTemporaryDirectory() + "teacher-embeddings-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let teacher = try EmbedJobTests.tinyModel()
        let data = try EmbedJobTests.writeShards(in: scratch)
        // A training batch that straddles two shards, preprocessed as embed does.
        let loader = try DataLoader(source: try WebDatasetSource(shardSpec: data), tokenizer: teacher.textInput!.tokenizer,
                                    options: LoaderOptions(mode: .evaluation, batchSize: 150, transform: ImageTransform(mode: .eval, size: 32),
                                                           contextLength: 16, workers: 0))
        let batch = LoaderDataSource.taskBatch(try XCTUnwrap(try loader.next()).batch, imageSize: 32, waitSeconds: 0).slice(40..<150)
        let live = try DistillationTeacher(model: teacher.model).embeddings(of: batch)
        let student = CLIPModel(config: teacher.model.config, seed: 9)
        let (image, text) = withoutGradients { (student.encodeImage(batch.tensor("image")), student.encodeText(batch.rows("text"))) }

        func loss(_ embeddings: (image: Tensor, text: Tensor)) throws -> GlobalLoss {
            try GlobalLoss.clip(image: image, text: text, logitScale: student.logitScale, communicator: LocalCommunicator(), tileElements: 500,
                                teacher: AffinityTeacher(image: embeddings.image, text: embeddings.text, scale: 20, weight: 0.5))
        }
        let reference = try loss(live)
        for (dtype, tolerance) in [(EmbeddingDType.f32, Float(1e-5)), (.f16, 2e-3)] {
            let output = scratch + "/teacher-" + dtype.rawValue
            _ = try EmbedJob(input: EmbedInput(data: data), output: output, dtype: dtype, batchSize: 64, workers: 0)
                .run(model: teacher, communicator: LocalCommunicator()) { _ in }
            let stored = try TeacherEmbeddings(directory: output)
            XCTAssertEqual(stored.dimension, 64)
            let disk = try DistillationTeacher(precomputed: stored, scale: nil).embeddings(of: batch)
            XCTAssertLessThan(zip(disk.image.values + disk.text.values, live.image.values + live.text.values).map { abs($0 - $1) }.max()!, tolerance)
            let fromDisk = try loss(disk)
            XCTAssertEqual(fromDisk.terms["distill_affinity"]!, reference.terms["distill_affinity"]!, accuracy: 10 * tolerance, "\(dtype)")
            XCTAssertEqual(fromDisk.loss, reference.loss, accuracy: 10 * tolerance, "\(dtype)")
            for (a, b) in zip(fromDisk.outputGradients, reference.outputGradients) {
                XCTAssertLessThan(zip(a.values, b.values).map { abs($0 - $1) }.max()!, 10 * tolerance, "\(dtype)")
            }
            XCTAssertThrowsError(try stored.embeddings(keys: [batch.keys[0], "elsewhere.tar:000"])) { error in
                XCTAssert("\(error)".contains("elsewhere.tar:000") && "\(error)".contains(output), "\(error)")
            }
        }
    }
}
