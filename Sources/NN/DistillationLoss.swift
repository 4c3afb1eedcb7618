import TensorCore

/// Losses that pull a student CLIP towards a teacher's embeddings of the same global batch, on the tape (the teacher's
/// tensors are constants: it runs without a tape). Each is this rank's share: a mean over its own rows, so the engine's
/// gradient average over ranks gives the global batch's mean.
public enum DistillationLoss {
    /// TinyCLIP's affinity mimicking: the cross-entropy from the teacher's image→text and text→image similarity
    /// distributions over the global batch to the student's, averaged over both directions and this rank's rows.
    /// - Parameters: student `localImage`, `localText` [B, D] and `gatheredImage`, `gatheredText` [N, D] (every rank's
    ///   rows); `logitScale` the student's 0-d log-space temperature; `teacher` the same four of the teacher (its own
    ///   width) and its temperature's exponential `teacherScale`.
    public static func affinity(localImage: Tensor, localText: Tensor, gatheredImage: Tensor, gatheredText: Tensor, logitScale: Tensor,
                                teacher: (localImage: Tensor, localText: Tensor, gatheredImage: Tensor, gatheredText: Tensor),
                                teacherScale: Float) -> Tensor {
        let scale = logitScale.exp()
        func direction(_ rows: Tensor, _ columns: Tensor, _ teacherRows: Tensor, _ teacherColumns: Tensor) -> Tensor {
            let target = (Tensor.matmul(teacherRows, teacherColumns, transposeB: true) * teacherScale).softmax()
            let logProbabilities = (Tensor.matmul(rows, columns, transposeB: true) * scale).logSoftmax()
            return (target * logProbabilities).sum() * (-1 / Float(rows.shape[0]))
        }
        let imageToText = direction(localImage, gatheredText, teacher.localImage, teacher.gatheredText)
        let textToImage = direction(localText, gatheredImage, teacher.localText, teacher.gatheredImage)
        return (imageToText + textToImage) * 0.5
    }

    /// CLIP-KD's feature distillation: the mean squared difference between student and teacher embeddings of this rank's
    /// images and texts (of equal width), averaged over both.
    public static func feature(image: Tensor, text: Tensor, teacherImage: Tensor, teacherText: Tensor) -> Tensor {
        precondition(image.shape == teacherImage.shape && text.shape == teacherText.shape,
                     "feature distillation: student \(image.shape) and teacher \(teacherImage.shape) embeddings differ in shape")
        func meanSquare(_ a: Tensor, _ b: Tensor) -> Tensor { let d = a - b; return (d * d).mean() }
        return (meanSquare(image, teacherImage) + meanSquare(text, teacherText)) * 0.5
    }
}
