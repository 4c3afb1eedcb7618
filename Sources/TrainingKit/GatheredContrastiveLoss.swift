import Distributed
import NN
import TensorCore

/// Every rank's rows of this rank's features [B, D] and back: the all-gather a contrastive loss reads, and the backward
/// that sums every rank's gradient for this rank's rows (as `torch.distributed.nn.all_gather` does).
public struct FeatureExchange {
    let communicator: Communicator
    let rowsPerRank: [Int]
    let featureDimension: Int

    public init(localRows: Int, featureDimension: Int, communicator: Communicator) {
        self.communicator = communicator
        rowsPerRank = [Int](repeating: localRows, count: communicator.size)
        self.featureDimension = featureDimension
    }

    /// Every rank's rows, rank order [world · B, D] (the local tensor itself on one rank).
    public func gathered(_ local: Tensor) throws -> Tensor {
        guard communicator.size > 1 else { return local }
        let values = try allGatherFeatures(local.values, featureDimension: featureDimension, rowsPerRank: rowsPerRank,
                                           communicator: communicator).values
        return Tensor(shape: [rowsPerRank.reduce(0, +), featureDimension], values: values)
    }

    /// This rank's rows of a gradient of the gathered features, summed over every rank's.
    public func ownRows(_ gradient: Tensor) throws -> Tensor {
        guard communicator.size > 1 else { return gradient }
        let values = try allGatherFeaturesBackward(gradient.values, rowsPerRank: rowsPerRank, featureDimension: featureDimension,
                                                   communicator: communicator)
        return Tensor(shape: [rowsPerRank[communicator.rank], featureDimension], values: values)
    }
}

extension GlobalLoss {
    /// OpenCLIP's `ClipLoss(local_loss=True, gather_with_grad=True)` of this rank's normalised `image` and `text` rows
    /// against every rank's, times `weight`: the loss, the gradients of both feature tensors and of the log-space
    /// temperature `logitScale`.
    public static func clip(image: Tensor, text: Tensor, logitScale: Parameter, weight: Float = 1, communicator: Communicator,
                            tileElements: Int = ContrastiveLoss.defaultTileElements,
                            hardNegatives: HardNegativeWeighting? = nil) throws -> GlobalLoss {
        let exchange = FeatureExchange(localRows: image.shape[0], featureDimension: image.shape[1], communicator: communicator)
        let evaluation = ClipLossEvaluation(localImage: image, localText: text, gatheredImage: try exchange.gathered(image),
                                            gatheredText: try exchange.gathered(text), logitScale: logitScale.value.scalar,
                                            rank: communicator.rank, tileElements: tileElements, hardNegatives: hardNegatives)
        let g = evaluation.gradients(scaledBy: weight)
        return GlobalLoss(loss: weight * evaluation.loss,
                          outputGradients: [g.localImage + (try exchange.ownRows(g.gatheredImage)),
                                            g.localText + (try exchange.ownRows(g.gatheredText))],
                          parameterGradients: [(logitScale, [g.logitScale])])
    }
}
