import TensorCore
import Foundation

/// OpenCLIP's image preprocessing: training = RandomResizedCrop (+ optional colour jitter and grey scale) + normalise,
/// evaluation = resize shorter side + centre crop + normalise; the output is planar float RGB (3×size×size).
/// `AugmentationConfig` builds the training transform from OpenCLIP's `--aug-cfg`.
public struct ImageTransform: Sendable, Equatable {
    public enum Mode: String, Sendable { case train, eval }

    public var mode: Mode
    public var size: Int
    /// RandomResizedCrop area fraction range (OpenCLIP default (0.9, 1.0)).
    public var scale: ClosedRange<Double>
    /// RandomResizedCrop aspect-ratio range (torchvision default (3/4, 4/3)).
    public var ratio: ClosedRange<Double>
    public var filter: ResampleFilter
    public var mean: [Float]
    public var std: [Float]
    /// Colour jitter and grey scale after the crop; training mode only.
    public var photometric: PhotometricAugmentation

    /// CLIP's normalisation constants (OpenCLIP `OPENAI_DATASET_MEAN` / `OPENAI_DATASET_STD`).
    public static let clipMean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    public static let clipStd: [Float] = [0.26862954, 0.26130258, 0.27577711]

    public init(mode: Mode, size: Int, scale: ClosedRange<Double> = 0.9...1.0, ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0),
                filter: ResampleFilter = .bicubic, mean: [Float] = ImageTransform.clipMean, std: [Float] = ImageTransform.clipStd,
                photometric: PhotometricAugmentation = .none) {
        precondition(size > 0 && mean.count == 3 && std.count == 3, "ImageTransform: bad size or normalisation")
        self.mode = mode
        self.size = size
        self.scale = scale
        self.ratio = ratio
        self.filter = filter
        self.mean = mean
        self.std = std
        self.photometric = photometric
    }

    /// Floats written per image.
    public var outputCount: Int { 3 * size * size }

    /// A crop box in source pixels.
    public struct CropBox: Equatable, Sendable {
        public var x: Int, y: Int, width: Int, height: Int
    }

    /// torchvision's `RandomResizedCrop.get_params`: up to 10 tries of a random area/aspect, else a centre crop at
    /// the clamped aspect ratio. Python's round-half-even is reproduced.
    public func randomCrop(width: Int, height: Int, rng: inout SplitMix64) -> CropBox {
        let area = Double(width * height)
        let logLow = log(ratio.lowerBound), logHigh = log(ratio.upperBound)
        for _ in 0..<10 {
            let targetArea = area * rng.uniform(scale.lowerBound, scale.upperBound)
            let aspect = exp(rng.uniform(logLow, logHigh))
            let w = Int((targetArea * aspect).squareRoot().rounded(.toNearestOrEven))
            let h = Int((targetArea / aspect).squareRoot().rounded(.toNearestOrEven))
            if w > 0, w <= width, h > 0, h <= height {
                let y = rng.below(height - h + 1)
                let x = rng.below(width - w + 1)
                return CropBox(x: x, y: y, width: w, height: h)
            }
        }
        let inRatio = Double(width) / Double(height)
        var w = width, h = height
        if inRatio < ratio.lowerBound {
            h = Int((Double(w) / ratio.lowerBound).rounded(.toNearestOrEven))
        } else if inRatio > ratio.upperBound {
            w = Int((Double(h) * ratio.upperBound).rounded(.toNearestOrEven))
        }
        return CropBox(x: (width - w) / 2, y: (height - h) / 2, width: w, height: h)
    }

    /// Transforms one image into `output` (`outputCount` floats). `rng` is only consumed in training mode.
    public func apply(_ image: RGBImage, rng: inout SplitMix64, into output: UnsafeMutablePointer<Float>) {
        let m = (mean[0], mean[1], mean[2]), s = (std[0], std[1], std[2])
        switch mode {
        case .train:
            let box = randomCrop(width: image.width, height: image.height, rng: &rng)
            let region = (box.x, box.y, box.width, box.height)
            guard !photometric.isIdentity else {
                Resampler.resampleNormalised(image, region: region, scaledWidth: size, scaledHeight: size, cropX: 0, cropY: 0,
                                             outputSize: size, filter: filter, mean: m, std: s, into: output)
                return
            }
            // Colours are adjusted in [0, 1] in the output buffer itself, then normalised there: no extra image buffer.
            Resampler.resampleNormalised(image, region: region, scaledWidth: size, scaledHeight: size, cropX: 0, cropY: 0,
                                         outputSize: size, filter: filter, mean: (0, 0, 0), std: (1, 1, 1), into: output)
            photometric.apply(to: PlanarRGB(output, pixelCount: size * size), rng: &rng)
            normalise(output)
        case .eval:
            // torchvision Resize(int): shorter side -> size, longer side truncated; then CenterCrop with round-half-even.
            let w = image.width, h = image.height
            let scaledW = w <= h ? size : Int(Double(size) * Double(w) / Double(h))
            let scaledH = w <= h ? Int(Double(size) * Double(h) / Double(w)) : size
            let cropX = Int((Double(scaledW - size) / 2).rounded(.toNearestOrEven))
            let cropY = Int((Double(scaledH - size) / 2).rounded(.toNearestOrEven))
            Resampler.resampleNormalised(image, region: (0, 0, w, h), scaledWidth: scaledW, scaledHeight: scaledH,
                                         cropX: cropX, cropY: cropY, outputSize: size, filter: filter, mean: m, std: s, into: output)
        }
    }

    /// Maps planar values in [0, 1] to (value − mean) / std per channel, in place.
    func normalise(_ planes: UnsafeMutablePointer<Float>) {
        let plane = size * size
        for c in 0..<3 {
            let channel = planes + c * plane, shift = mean[c], scale = 1 / std[c]
            for i in 0..<plane { channel[i] = (channel[i] - shift) * scale }
        }
    }

    /// Convenience returning a fresh array.
    public func apply(_ image: RGBImage, rng: inout SplitMix64) -> [Float] {
        var out = [Float](repeating: 0, count: outputCount)
        out.withUnsafeMutableBufferPointer { apply(image, rng: &rng, into: $0.baseAddress!) }
        return out
    }

    /// The per-sample augmentation generator: a pure function of (seed, epoch, global sample position), so a resumed
    /// run or a different world size augments each sample identically.
    /// `attempt` > 0 is used for substitutes of an undecodable sample, so they are augmented independently.
    public static func augmentationRandom(seed: UInt64, epoch: Int, position: Int, attempt: Int = 0) -> SplitMix64 {
        SplitMix64(mixing: seed, UInt64(bitPattern: Int64(epoch)), UInt64(bitPattern: Int64(position)), UInt64(attempt),
                   RandomStream.augmentation.rawValue)
    }
}
