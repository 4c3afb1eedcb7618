import TensorCore

/// OpenCLIP's colour augmentations after the random crop (`color_jitter` applied with `color_jitter_prob`, then
/// `gray_scale` with `gray_scale_prob`), on the cropped image in [0, 1] before normalisation.
public struct PhotometricAugmentation: Sendable, Equatable {
    public var colorJitter: ColorJitter?
    /// Probability that an image is jittered at all.
    public var colorJitterProbability: Double
    /// Probability that an image becomes grey (R = G = B = its luma).
    public var grayscaleProbability: Double

    public init(colorJitter: ColorJitter? = nil, colorJitterProbability: Double = 1, grayscaleProbability: Double = 0) {
        precondition((0...1).contains(colorJitterProbability) && (0...1).contains(grayscaleProbability),
                     "PhotometricAugmentation: probabilities must be in [0, 1]")
        self.colorJitter = colorJitter
        self.colorJitterProbability = colorJitterProbability
        self.grayscaleProbability = grayscaleProbability
    }

    /// No colour change: the transform then takes its direct resample-and-normalise path, bit for bit as before.
    public static let none = PhotometricAugmentation()

    var jitters: Bool { colorJitterProbability > 0 && !(colorJitter?.isIdentity ?? true) }
    public var isIdentity: Bool { !jitters && grayscaleProbability == 0 }

    /// Draws from `rng` only for what is configured, in OpenCLIP's order: whether to jitter, the jitter's order and
    /// factors, whether to turn grey.
    func apply(to image: PlanarRGB, rng: inout SplitMix64) {
        if jitters, let colorJitter, rng.nextUnit() < colorJitterProbability {
            ColorJitter.apply(colorJitter.drawParameters(&rng), to: image)
        }
        if grayscaleProbability > 0 && rng.nextUnit() < grayscaleProbability {
            ColorAdjustments.grayscale(image)
        }
    }
}
