import TensorCore

/// torchvision's `ColorJitter`: per image, a factor is drawn uniformly from each configured range and the four
/// adjustments run in a random order. Here the order and factors come from the sample's own random stream, so the
/// jitter is reproducible and the same whatever the world size.
public struct ColorJitter: Sendable, Equatable {
    /// Brightness, contrast and saturation factor ranges (1 = unchanged); nil leaves that adjustment out.
    public var brightness: ClosedRange<Double>?
    public var contrast: ClosedRange<Double>?
    public var saturation: ClosedRange<Double>?
    /// Hue shift range in turns, within [-0.5, 0.5]; nil leaves it out.
    public var hue: ClosedRange<Double>?

    /// torchvision's strengths: a factor range [max(0, 1 − s), 1 + s] for brightness, contrast and saturation and a hue
    /// shift range [−h, h]; a strength of 0 leaves the adjustment out.
    public init(brightness: Double = 0, contrast: Double = 0, saturation: Double = 0, hue: Double = 0) {
        precondition([brightness, contrast, saturation, hue].allSatisfy { $0 >= 0 } && hue <= 0.5, "ColorJitter: strengths must be >= 0, hue <= 0.5")
        func factors(_ s: Double) -> ClosedRange<Double>? { s == 0 ? nil : max(0, 1 - s)...(1 + s) }
        self.init(brightness: factors(brightness), contrast: factors(contrast), saturation: factors(saturation), hue: hue == 0 ? nil : -hue...hue)
    }

    /// Explicit ranges, as torchvision's `(min, max)` arguments.
    public init(brightness: ClosedRange<Double>?, contrast: ClosedRange<Double>?, saturation: ClosedRange<Double>?, hue: ClosedRange<Double>?) {
        self.brightness = brightness
        self.contrast = contrast
        self.saturation = saturation
        self.hue = hue
    }

    /// True when no adjustment is configured (torchvision's identity ranges count as none).
    public var isIdentity: Bool {
        func neutral(_ range: ClosedRange<Double>?, _ value: Double) -> Bool { range == nil || range == value...value }
        return neutral(brightness, 1) && neutral(contrast, 1) && neutral(saturation, 1) && neutral(hue, 0)
    }

    public enum Adjustment: Int, Sendable, CaseIterable { case brightness, contrast, saturation, hue }

    /// One image's draw: the order of the adjustments and each configured one's factor (nil when left out).
    public struct Parameters: Sendable, Equatable {
        public var order: [Adjustment]
        public var brightness: Double?, contrast: Double?, saturation: Double?, hue: Double?
    }

    /// torchvision's `get_params`: a random permutation of the four, then the factors in brightness, contrast,
    /// saturation, hue order.
    public func drawParameters(_ rng: inout SplitMix64) -> Parameters {
        var order = Adjustment.allCases
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.below(i + 1)) }
        func draw(_ range: ClosedRange<Double>?) -> Double? { range.map { rng.uniform($0.lowerBound, $0.upperBound) } }
        let b = draw(brightness), c = draw(contrast), s = draw(saturation), h = draw(hue)
        return Parameters(order: order, brightness: b, contrast: c, saturation: s, hue: h)
    }

    /// Applies one draw to an image in [0, 1].
    static func apply(_ parameters: Parameters, to image: PlanarRGB) {
        for adjustment in parameters.order {
            switch adjustment {
            case .brightness: if let f = parameters.brightness { ColorAdjustments.adjustBrightness(image, factor: Float(f)) }
            case .contrast: if let f = parameters.contrast { ColorAdjustments.adjustContrast(image, factor: Float(f)) }
            case .saturation: if let f = parameters.saturation { ColorAdjustments.adjustSaturation(image, factor: Float(f)) }
            case .hue: if let f = parameters.hue { ColorAdjustments.adjustHue(image, shift: Float(f)) }
            }
        }
    }
}
