import Foundation
import NN
import TensorCore
import TrainingKit

/// A distillation run's teacher: its L2-normalised embeddings of each training batch, computed by a CLIP model without a
/// tape (no activation memory) or read from embeddings computed ahead of time, and its temperature.
public final class DistillationTeacher {
    /// The teacher's embedding width.
    public let width: Int
    /// The affinity loss's teacher temperature: `--distill-teacher-scale`, else exp(logit_scale) of the teacher (nil
    /// with neither).
    public let scale: Float?
    let model: CLIPModel?
    let precomputed: PrecomputedEmbeddings?

    /// A teacher CLIP model run on every batch; `scale` replaces its own temperature when given.
    public init(model: CLIPModel, scale: Float? = nil) {
        self.model = model
        precomputed = nil
        width = model.config.embedDim
        self.scale = scale ?? Foundation.exp(model.logitScale.value.scalar)
    }

    /// Embeddings read by sample key; `scale` from the teacher model when there is one.
    public init(precomputed: PrecomputedEmbeddings, scale: Float?) {
        model = nil
        self.precomputed = precomputed
        width = precomputed.dimension
        self.scale = scale
    }

    /// The teacher's image and text embeddings of `batch`'s samples, [count, width] each.
    public func embeddings(of batch: TaskBatch) throws -> (image: Tensor, text: Tensor) {
        if let precomputed {
            guard batch.keys.count == batch.count else {
                throw TrainingError("--distill-embeddings: the training data has no sample keys to look embeddings up by (use --train-data)")
            }
            return try precomputed.embeddings(keys: batch.keys)
        }
        return withoutGradients { (model!.encodeImage(batch.tensor("image")), model!.encodeText(batch.rows("text"))) }
    }

    /// The teacher `--distill-teacher` names (a SwiftCLIP CLIP checkpoint, or safetensors of the `--distill-teacher-model`
    /// config), checked against the student's inputs: it reads the same token ids and images.
    public static func loadModel(path: String, modelName: String, student: CLIPConfig) throws -> CLIPModel {
        let weights = try PretrainedWeights(path)
        let config: CLIPConfig
        if let recorded = weights.modelConfig {
            guard weights.family == CLIPFamily.name else {
                throw TrainingError("\(path): a \(weights.family ?? "?") checkpoint; --distill-teacher needs a CLIP model")
            }
            do { config = try recorded.decode(as: CLIPConfig.self) } catch {
                throw TrainingError("\(path): its recorded CLIP model config does not decode (\(error))")
            }
        } else {
            guard !modelName.isEmpty else { throw TrainingError("\(path): safetensors record no model config; name it with --distill-teacher-model") }
            config = try ModelCatalog.config(modelName)
        }
        let mismatches = [("image size", config.vision.imageSize, student.vision.imageSize),
                          ("context length", config.text.contextLength, student.text.contextLength),
                          ("vocabulary size", config.text.vocabSize, student.text.vocabSize)].filter { $0.1 != $0.2 }
        if let (what, teacher, own) = mismatches.first {
            throw TrainingError("\(path): the teacher's \(what) is \(teacher), the student's \(own); distillation feeds both the same batch")
        }
        let model = CLIPModel(config: config)
        try weights.load(into: model.parameters) { $0 }
        return model
    }
}

/// Embeddings of training samples computed ahead of time (by `swiftclip embed`), looked up by sample key.
public protocol PrecomputedEmbeddings: AnyObject {
    var dimension: Int { get }
    /// The image and caption embeddings of `keys`, [keys.count, dimension] each; an unknown key is an error naming it.
    func embeddings(keys: [String]) throws -> (image: Tensor, text: Tensor)
}

/// Opens an embeddings folder: Retrieval's format, which sits above the families, so the program installs Retrieval's
/// reader (`swiftclip train` does); nil until then.
public enum PrecomputedEmbeddingsReader {
    nonisolated(unsafe) public static var open: ((String) throws -> PrecomputedEmbeddings)?
}

/// Training batches with the teacher's embeddings of their samples added as `teacher_image` and `teacher_text`: the
/// teacher sees exactly the student's (augmented) batch, once per batch whatever the micro-batching.
final class TeacherEmbeddingDataSource: TrainingDataSource {
    let base: TrainingDataSource
    let teacher: DistillationTeacher

    init(base: TrainingDataSource, teacher: DistillationTeacher) {
        self.base = base
        self.teacher = teacher
    }

    var samplesPerEpoch: Int { base.samplesPerEpoch }
    func seek(samplesSeen: Int) throws { try base.seek(samplesSeen: samplesSeen) }

    func next() throws -> TaskBatch {
        var batch = try base.next()
        let embeddings = try teacher.embeddings(of: batch)
        batch.tensors["teacher_image"] = embeddings.image
        batch.tensors["teacher_text"] = embeddings.text
        return batch
    }
}
