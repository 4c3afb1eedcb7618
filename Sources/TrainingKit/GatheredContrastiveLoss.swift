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

/// A teacher's embeddings of this rank's samples for TinyCLIP's affinity distillation, its temperature and the loss's weight.
public struct AffinityTeacher {
    public var image: Tensor, text: Tensor
    /// exp(logit_scale) of the teacher.
    public var scale: Float
    public var weight: Float

    public init(image: Tensor, text: Tensor, scale: Float, weight: Float) {
        (self.image, self.text, self.scale, self.weight) = (image, text, scale, weight)
    }
}

extension GlobalLoss {
    /// OpenCLIP's `ClipLoss(local_loss=True, gather_with_grad=True)` of this rank's normalised `image` and `text` rows
    /// against every rank's, times `weight`: the loss, the gradients of both feature tensors and of the log-space
    /// temperature `logitScale`. With a `teacher`, plus its weight times the affinity distillation loss over the same
    /// gathered features (the teacher's gathered alongside), whose gradients join the contrastive loss's before they are
    /// sent back to their owners; `terms["distill_affinity"]` is then the unweighted distillation loss. With
    /// `negativeTexts`, every rank's mined negative captions are extra image→text columns of every image (NegCLIP over
    /// the global batch); with `negativeImages`, every rank's mined negative images are extra text→image columns of
    /// every caption. Output gradients: image, text, then for each of `negativeTexts` and `negativeImages` given, its
    /// embeddings' and its mask's (zeros: a constant), in the order the outputs of a task that returns them so are.
    public static func clip(image: Tensor, text: Tensor, logitScale: Parameter, weight: Float = 1, communicator: Communicator,
                            tileElements: Int = ContrastiveLoss.defaultTileElements,
                            hardNegatives: HardNegativeWeighting? = nil, negativeTexts: HardNegativeEmbeddings? = nil,
                            negativeImages: HardNegativeEmbeddings? = nil, teacher: AffinityTeacher? = nil) throws -> GlobalLoss {
        let exchange = FeatureExchange(localRows: image.shape[0], featureDimension: image.shape[1], communicator: communicator)
        let gatheredImage = try exchange.gathered(image), gatheredText = try exchange.gathered(text)
        let gatheredTexts = try negativeTexts.map { try GatheredNegatives($0, communicator: communicator) }
        let gatheredImages = try negativeImages.map { try GatheredNegatives($0, communicator: communicator) }
        let evaluation = ClipLossEvaluation(localImage: image, localText: text, gatheredImage: gatheredImage,
                                            gatheredText: gatheredText, logitScale: logitScale.value.scalar,
                                            rank: communicator.rank, tileElements: tileElements, hardNegatives: hardNegatives,
                                            extraTextColumns: gatheredTexts?.columns, extraImageColumns: gatheredImages?.columns)
        var g = evaluation.gradients(scaledBy: weight)
        var loss = weight * evaluation.loss, terms: [String: Float] = [:]
        if let teacher {
            let teacherExchange = FeatureExchange(localRows: teacher.image.shape[0], featureDimension: teacher.image.shape[1], communicator: communicator)
            let affinity = AffinityDistillationEvaluation(
                localImage: image, localText: text, gatheredImage: gatheredImage, gatheredText: gatheredText,
                logitScale: logitScale.value.scalar,
                teacher: (teacher.image, teacher.text, try teacherExchange.gathered(teacher.image), try teacherExchange.gathered(teacher.text)),
                teacherScale: teacher.scale, tileElements: tileElements)
            g = g + affinity.gradients(scaledBy: teacher.weight)
            loss += teacher.weight * affinity.loss
            terms["distill_affinity"] = affinity.loss
        }
        var outputGradients = [g.localImage + (try exchange.ownRows(g.gatheredImage)), g.localText + (try exchange.ownRows(g.gatheredText))]
        if let gatheredTexts { outputGradients += try gatheredTexts.ownGradients(g.extraText) }
        if let gatheredImages { outputGradients += try gatheredImages.ownGradients(g.extraImage) }
        var result = GlobalLoss(loss: loss, outputGradients: outputGradients, parameterGradients: [(logitScale, [g.logitScale])])
        result.terms = terms
        return result
    }
}
