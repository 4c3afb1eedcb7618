/// A planar RGB image of floats in [0, 1], adjusted in place.
struct PlanarRGB {
    let red: UnsafeMutablePointer<Float>
    let green: UnsafeMutablePointer<Float>
    let blue: UnsafeMutablePointer<Float>
    /// Pixels per plane.
    let count: Int

    init(_ base: UnsafeMutablePointer<Float>, pixelCount: Int) {
        red = base
        green = base + pixelCount
        blue = base + 2 * pixelCount
        count = pixelCount
    }

    /// Applies `body` to every pixel's (r, g, b) and stores what it returns.
    func update(_ body: (Float, Float, Float) -> (Float, Float, Float)) {
        for i in 0..<count { (red[i], green[i], blue[i]) = body(red[i], green[i], blue[i]) }
    }
}

/// torchvision's colour functions for float images (`transforms/_functional_tensor.py`), whose maths OpenCLIP's
/// `color_jitter` and `gray_scale` use: blends clamped to [0, 1], ITU-R 601 luma weights, the HSV round trip of
/// `adjust_hue`. (torchvision's PIL path computes the same in 8-bit steps, so it differs by rounding.)
enum ColorAdjustments {
    static func luma(_ r: Float, _ g: Float, _ b: Float) -> Float { 0.2989 * r + 0.587 * g + 0.114 * b }

    /// `factor · x + (1 − factor) · other`, clamped to [0, 1].
    static func blend(_ x: Float, _ other: Float, _ factor: Float) -> Float { min(max(factor * x + (1 - factor) * other, 0), 1) }

    /// Blends towards black.
    static func adjustBrightness(_ image: PlanarRGB, factor: Float) {
        image.update { r, g, b in (blend(r, 0, factor), blend(g, 0, factor), blend(b, 0, factor)) }
    }

    /// Blends towards the mean luma of the whole image.
    static func adjustContrast(_ image: PlanarRGB, factor: Float) {
        var total = 0.0
        for i in 0..<image.count { total += Double(luma(image.red[i], image.green[i], image.blue[i])) }
        let mean = Float(total / Double(max(image.count, 1)))
        image.update { r, g, b in (blend(r, mean, factor), blend(g, mean, factor), blend(b, mean, factor)) }
    }

    /// Blends towards each pixel's own luma.
    static func adjustSaturation(_ image: PlanarRGB, factor: Float) {
        image.update { r, g, b in
            let l = luma(r, g, b)
            return (blend(r, l, factor), blend(g, l, factor), blend(b, l, factor))
        }
    }

    /// Rotates the hue by `shift` turns (in [-0.5, 0.5]).
    static func adjustHue(_ image: PlanarRGB, shift: Float) {
        image.update { r, g, b in
            let (h, s, v) = hsv(r, g, b)
            let turned = h + shift
            return rgb(turned - turned.rounded(.down), s, v)
        }
    }

    /// Every channel becomes the luma (torchvision's `Grayscale(num_output_channels=3)`).
    static func grayscale(_ image: PlanarRGB) {
        image.update { r, g, b in
            let l = luma(r, g, b)
            return (l, l, l)
        }
    }

    /// torchvision's `_rgb2hsv`: hue in [0, 1), with hue and saturation 0 for greys.
    static func hsv(_ r: Float, _ g: Float, _ b: Float) -> (Float, Float, Float) {
        let maxc = max(r, g, b), minc = min(r, g, b)
        guard maxc != minc else { return (0, 0, maxc) }
        let chroma = maxc - minc
        let rc = (maxc - r) / chroma, gc = (maxc - g) / chroma, bc = (maxc - b) / chroma
        let h: Float
        if maxc == r { h = bc - gc } else if maxc == g { h = 2 + rc - bc } else { h = 4 + gc - rc }
        let turns = h / 6 + 1
        return (turns - turns.rounded(.down), chroma / maxc, maxc)
    }

    /// torchvision's `_hsv2rgb`.
    static func rgb(_ h: Float, _ s: Float, _ v: Float) -> (Float, Float, Float) {
        let sector = (h * 6).rounded(.down)
        let f = h * 6 - sector
        let p = min(max(v * (1 - s), 0), 1), q = min(max(v * (1 - s * f), 0), 1), t = min(max(v * (1 - s * (1 - f)), 0), 1)
        switch ((Int(sector) % 6) + 6) % 6 {
        case 0: return (v, t, p)
        case 1: return (q, v, p)
        case 2: return (p, v, t)
        case 3: return (p, q, v)
        case 4: return (t, p, v)
        default: return (v, p, q)
        }
    }
}
