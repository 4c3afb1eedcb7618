import Foundation
import TensorCore

/// TinyCLIP's affinity loss of one rank (`DistillationLoss.affinity`) and its gradients outside the tape, over the same
/// column tiles as CLIP's loss (memory O(local batch × tile)): the trainer adds its gradients of the gathered student
/// features to the contrastive loss's before sending them back to their owners. The teacher's features are constants.
public struct AffinityDistillationEvaluation {
    let imageRows: TiledLogits, textRows: TiledLogits
    let teacherImageRows: TiledLogits, teacherTextRows: TiledLogits
    /// The loss value of this rank's rows.
    public let loss: Float

    /// - Parameters: as `DistillationLoss.affinity`, with `logitScale` the student's log-space value and `teacherScale`
    ///   the teacher's temperature itself.
    public init(localImage: Tensor, localText: Tensor, gatheredImage: Tensor, gatheredText: Tensor, logitScale: Float,
                teacher: (localImage: Tensor, localText: Tensor, gatheredImage: Tensor, gatheredText: Tensor), teacherScale: Float,
                tileElements: Int = ContrastiveLoss.defaultTileElements) {
        let b = localImage.shape[0], n = gatheredImage.shape[0]
        precondition(localImage.shape == localText.shape && gatheredImage.shape == gatheredText.shape,
                     "affinity distillation: student features \(localImage.shape)/\(localText.shape) and \(gatheredImage.shape)/\(gatheredText.shape) do not fit")
        precondition(teacher.localImage.shape[0] == b && teacher.localText.shape[0] == b && teacher.gatheredImage.shape[0] == n
                     && teacher.gatheredText.shape[0] == n,
                     "affinity distillation: teacher rows \(teacher.localImage.shape)/\(teacher.gatheredImage.shape) do not match the student's \(b)/\(n)")
        let tile = max(1, min(n, tileElements / max(b, 1)))
        let scale = Foundation.exp(logitScale)
        imageRows = TiledLogits(rows: localImage, columns: gatheredText, scale: scale, labelOffset: 0, tile: tile)
        textRows = TiledLogits(rows: localText, columns: gatheredImage, scale: scale, labelOffset: 0, tile: tile)
        teacherImageRows = TiledLogits(rows: teacher.localImage, columns: teacher.gatheredText, scale: teacherScale, labelOffset: 0, tile: tile)
        teacherTextRows = TiledLogits(rows: teacher.localText, columns: teacher.gatheredImage, scale: teacherScale, labelOffset: 0, tile: tile)
        loss = Float((imageRows.crossEntropy(target: teacherImageRows) + textRows.crossEntropy(target: teacherTextRows)) / 2)
    }

    /// The gradients of `scale` × loss with respect to the student's features and log-space temperature.
    public func gradients(scaledBy scale: Float = 1) -> ClipLossEvaluation.Gradients {
        let weight = scale / 2
        let dLocalImage = Tensor.zeros(imageRows.rows.shape), dLocalText = Tensor.zeros(textRows.rows.shape)
        let dGatheredImage = Tensor.zeros(textRows.columns.shape), dGatheredText = Tensor.zeros(imageRows.columns.shape)
        var dLogScale = imageRows.crossEntropyBackward(weight: weight, dRows: dLocalImage, dColumns: dGatheredText, target: teacherImageRows)
        dLogScale += textRows.crossEntropyBackward(weight: weight, dRows: dLocalText, dColumns: dGatheredImage, target: teacherTextRows)
        return ClipLossEvaluation.Gradients(localImage: dLocalImage, localText: dLocalText, gatheredImage: dGatheredImage,
                                            gatheredText: dGatheredText, logitScale: Float(dLogScale))
    }
}
