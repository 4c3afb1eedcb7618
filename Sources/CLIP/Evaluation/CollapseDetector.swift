import Foundation

/// Recognises representation collapse: every feature converged to one point, the loss stuck at ln(global batch).
///
/// When all image (or text) features are equal, every logit of a row is equal and the contrastive loss is exactly
/// ln(N) for a global batch N, whatever the logit scale: the model has stopped learning and will not recover.
/// Seen with OpenCLIP itself on small data at too high a learning rate (docs: design/learning-notes.md).
/// A freshly initialised model also has a loss near ln(N), so the feature spread, not the loss alone, decides.
public struct CollapseDetector: Sendable {
    /// How far (relative) the loss may be from ln(N) and still count as "at chance".
    public var relativeLossTolerance: Double
    /// Mean squared distance of the features from their batch mean below which they count as one point.
    /// For unit vectors this is 1 − ‖mean‖²: 0 when collapsed, near 1 for well-spread features.
    public var varianceThreshold: Double

    public init(relativeLossTolerance: Double = 0.02, varianceThreshold: Double = 1e-3) {
        self.relativeLossTolerance = relativeLossTolerance
        self.varianceThreshold = varianceThreshold
    }

    /// The numbers behind a decision.
    public struct Assessment: Sendable, Equatable {
        public var loss: Double
        public var chanceLoss: Double
        public var imageVariance: Double
        public var textVariance: Double
        public var collapsed: Bool
    }

    /// The mean over rows of the squared distance from the row mean, for row-major [rows, dim] features.
    public static func featureVariance(_ features: [Float], rows: Int, dim: Int) -> Double {
        precondition(rows > 0 && features.count == rows * dim, "feature variance: \(features.count) values for \(rows) × \(dim)")
        var total = 0.0
        features.withUnsafeBufferPointer { f in
            var mean = [Double](repeating: 0, count: dim)
            for r in 0..<rows { for d in 0..<dim { mean[d] += Double(f[r * dim + d]) } }
            for d in 0..<dim { mean[d] /= Double(rows) }
            for r in 0..<rows {
                for d in 0..<dim {
                    let x = Double(f[r * dim + d]) - mean[d]
                    total += x * x
                }
            }
        }
        return total / Double(rows)
    }

    /// Judges one step from its loss, the global batch and this rank's image and text features ([rows, dim] each).
    ///
    /// Collapsed means: the loss is within the tolerance of ln(globalBatch), and the image or the text features
    /// (one tower collapsing is enough to stall both losses) are spread less than the threshold.
    public func assess(loss: Double, globalBatch: Int, imageFeatures: [Float], textFeatures: [Float], rows: Int, dim: Int) -> Assessment {
        precondition(globalBatch > 1, "collapse detector: global batch must exceed 1")
        let chance = Foundation.log(Double(globalBatch))
        let imageVariance = Self.featureVariance(imageFeatures, rows: rows, dim: dim)
        let textVariance = Self.featureVariance(textFeatures, rows: rows, dim: dim)
        let atChance = abs(loss - chance) <= relativeLossTolerance * chance
        let onePoint = rows > 1 && min(imageVariance, textVariance) < varianceThreshold
        return Assessment(loss: loss, chanceLoss: chance, imageVariance: imageVariance, textVariance: textVariance,
                          collapsed: atChance && onePoint)
    }

    /// A one-line warning when the state is collapsed, nil otherwise.
    public func warning(step: Int, loss: Double, globalBatch: Int, imageFeatures: [Float], textFeatures: [Float],
                        rows: Int, dim: Int) -> String? {
        let a = assess(loss: loss, globalBatch: globalBatch, imageFeatures: imageFeatures, textFeatures: textFeatures, rows: rows, dim: dim)
        guard a.collapsed else { return nil }
        return String(format: "warning: training has collapsed at step %d: loss %.4f ≈ ln(%d) = %.4f and feature variance across the batch "
                      + "%.2e (image) / %.2e (text), so every sample maps to the same embedding; it will not recover: "
                      + "restart with a lower learning rate or a longer warm-up",
                      step, a.loss, globalBatch, a.chanceLoss, a.imageVariance, a.textVariance)
    }
}

/// Watches training for collapse and warns once per episode: after `patience` consecutive collapsed checks, and
/// again only after the run has left the collapsed state in between, so a log is not flooded every step.
public struct CollapseMonitor: Sendable {
    public var detector: CollapseDetector
    public let patience: Int
    private var consecutive = 0
    private var warned = false

    public init(detector: CollapseDetector = CollapseDetector(), patience: Int = 3) {
        self.detector = detector
        self.patience = max(1, patience)
    }

    /// Checks one step; returns the warning the first time the state has been collapsed `patience` checks in a row.
    public mutating func observe(step: Int, loss: Double, globalBatch: Int, imageFeatures: [Float], textFeatures: [Float],
                                 rows: Int, dim: Int) -> String? {
        let warning = detector.warning(step: step, loss: loss, globalBatch: globalBatch, imageFeatures: imageFeatures,
                                       textFeatures: textFeatures, rows: rows, dim: dim)
        guard let warning else {
            consecutive = 0
            warned = false
            return nil
        }
        consecutive += 1
        if consecutive >= patience, !warned {
            warned = true
            return warning
        }
        return nil
    }
}
