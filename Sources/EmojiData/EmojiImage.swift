import DataPipeline

/// Turns an emoji bitmap (RGBA, any size) into a square RGB image: composited on white, centred on a square canvas
/// (emoji bitmaps are slightly wider than tall), and downscaled by area averaging (each output pixel the mean of the
/// source area it covers, fractional pixels weighed by their overlap), which keeps thin strokes instead of aliasing them.
public enum EmojiImage {
    public static func render(rgba: [UInt8], width: Int, height: Int, size: Int) -> RGBImage {
        precondition(rgba.count == width * height * 4 && size > 0)
        let side = max(width, height), left = (side - width) / 2, top = (side - height) / 2
        var canvas = [Double](repeating: 255, count: side * side * 3)
        for y in 0..<height {
            for x in 0..<width {
                let p = (y * width + x) * 4, q = ((y + top) * side + x + left) * 3
                let alpha = Double(rgba[p + 3]) / 255
                for c in 0..<3 { canvas[q + c] = alpha * Double(rgba[p + c]) + (1 - alpha) * 255 }
            }
        }
        let taps = areaTaps(source: side, output: size)
        // Horizontal pass into rows of `size` pixels, then vertical.
        var rows = [Double](repeating: 0, count: side * size * 3)
        for y in 0..<side {
            for (x, tap) in taps.enumerated() {
                for (sx, w) in tap {
                    for c in 0..<3 { rows[(y * size + x) * 3 + c] += w * canvas[(y * side + sx) * 3 + c] }
                }
            }
        }
        var pixels = [UInt8](repeating: 0, count: size * size * 3)
        for (y, tap) in taps.enumerated() {
            for x in 0..<size {
                for c in 0..<3 {
                    var sum = 0.0
                    for (sy, w) in tap { sum += w * rows[(sy * size + x) * 3 + c] }
                    pixels[(y * size + x) * 3 + c] = UInt8(min(max((sum + 0.5).rounded(.down), 0), 255))
                }
            }
        }
        return RGBImage(width: size, height: size, pixels: pixels)
    }

    /// For each output pixel, the source pixels it overlaps and their weights (overlap / output pixel's width in
    /// source pixels), summing to 1. Upscaling falls out of the same rule (each output pixel inside one source pixel).
    static func areaTaps(source: Int, output: Int) -> [[(Int, Double)]] {
        let scale = Double(source) / Double(output)
        return (0..<output).map { o in
            let start = Double(o) * scale, end = Double(o + 1) * scale
            var taps: [(Int, Double)] = []
            var s = Int(start.rounded(.down))
            while s < source, Double(s) < end {
                let overlap = min(end, Double(s + 1)) - max(start, Double(s))
                if overlap > 0 { taps.append((s, overlap / scale)) }
                s += 1
            }
            return taps
        }
    }
}
