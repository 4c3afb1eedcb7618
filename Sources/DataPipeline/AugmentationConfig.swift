/// OpenCLIP's `AugmentationCfg` (`--aug-cfg`) for training images, on its non-timm path: RandomResizedCrop with `scale`
/// and `ratio`, then `color_jitter` with probability `color_jitter_prob`, then grey scale with `gray_scale_prob`.
/// The defaults reproduce the plain training transform bit for bit. `evaluationPreprocessing` trains on the
/// evaluation preprocessing instead (resize the shorter side, centre crop): OpenCLIP's form without augmentation.
public struct AugmentationConfig: Sendable, Equatable {
    /// RandomResizedCrop area fraction range (OpenCLIP's default (0.9, 1.0)).
    public var scale: ClosedRange<Double> = 0.9...1.0
    /// RandomResizedCrop aspect-ratio range (torchvision's default (3/4, 4/3), which OpenCLIP's non-timm path always uses).
    public var ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0)
    public var colorJitter: ColorJitter? = nil
    /// Probability of jittering an image; nil = every image when `colorJitter` is set (OpenCLIP ignores `color_jitter`
    /// without a probability on this path; asking for it alone means jitter, as timm does).
    public var colorJitterProbability: Double? = nil
    public var grayscaleProbability: Double = 0
    public var evaluationPreprocessing = false

    public init() {}

    /// The colour part of the training transform.
    public var photometric: PhotometricAugmentation {
        PhotometricAugmentation(colorJitter: colorJitter, colorJitterProbability: colorJitterProbability ?? 1,
                                grayscaleProbability: grayscaleProbability)
    }

    /// The transform for training images of `size` pixels; pass it as `LoaderOptions.transform`.
    public func trainingTransform(size: Int, filter: ResampleFilter = .bicubic, mean: [Float] = ImageTransform.clipMean,
                                  std: [Float] = ImageTransform.clipStd) -> ImageTransform {
        if evaluationPreprocessing { return ImageTransform(mode: .eval, size: size, filter: filter, mean: mean, std: std) }
        return ImageTransform(mode: .train, size: size, scale: scale, ratio: ratio, filter: filter, mean: mean, std: std,
                              photometric: photometric)
    }
}
