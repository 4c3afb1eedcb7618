/// Resampling filters with the kernels PIL uses (so results track torchvision's PIL path closely).
public enum ResampleFilter: String, Sendable, CaseIterable {
    case bilinear, bicubic

    var support: Double { self == .bilinear ? 1 : 2 }

    func weight(_ x: Double) -> Double {
        let t = abs(x)
        switch self {
        case .bilinear: return t < 1 ? 1 - t : 0
        case .bicubic:
            // Keys cubic with a = -0.5, PIL's choice.
            let a = -0.5
            if t < 1 { return ((a + 2) * t - (a + 3)) * t * t + 1 }
            if t < 2 { return (((t - 5) * t + 8) * t - 4) * a }
            return 0
        }
    }
}

/// Per-output-pixel taps along one axis: for output i, source indices first[i] ..< first[i] + count[i] with
/// `weights[i * stride ..< i * stride + count[i]]`.
struct ResampleTaps {
    var first: [Int]
    var count: [Int]
    var weights: [Float]
    var stride: Int

    /// Taps mapping the source pixels [sourceStart, sourceStart + sourceSize) onto `scaledSize` output pixels, of which
    /// only outputs offset ..< offset + outputCount are produced (a crop of the resized image). Taps never reach outside
    /// that source interval, as when Pillow crops before resizing; downscaling widens the kernel (antialiasing).
    init(sourceStart: Int, sourceSize: Int, scaledSize: Int, offset: Int, outputCount: Int, filter: ResampleFilter) {
        let scale = Double(sourceSize) / Double(scaledSize)
        let filterScale = max(scale, 1)
        let support = filter.support * filterScale
        stride = Int(support.rounded(.up)) * 2 + 1
        first = [Int](repeating: 0, count: outputCount)
        count = [Int](repeating: 0, count: outputCount)
        weights = [Float](repeating: 0, count: outputCount * stride)
        var local = [Double](repeating: 0, count: stride)
        for i in 0..<outputCount {
            let centre = (Double(i + offset) + 0.5) * scale
            let lo = max(Int((centre - support + 0.5).rounded(.down)), 0)
            let hi = min(Int((centre + support + 0.5).rounded(.down)), sourceSize)
            var n = max(0, min(hi - lo, stride))
            var total = 0.0
            for k in 0..<n {
                let w = filter.weight((Double(lo + k) - centre + 0.5) / filterScale)
                local[k] = w
                total += w
            }
            if total == 0 {
                // Degenerate (tiny source): fall back to the nearest pixel.
                n = 1
                local[0] = 1
                total = 1
                first[i] = sourceStart + min(max(Int(centre), 0), sourceSize - 1)
            } else {
                first[i] = sourceStart + lo
            }
            count[i] = n
            for k in 0..<n { weights[i * stride + k] = Float(local[k] / total) }
        }
    }
}

/// Resamples a rectangle of an RGB image into a normalised, planar (3×H×W) float tensor written in place.
enum Resampler {
    /// - Parameters:
    ///   - region: source rectangle (x, y, width, height) in pixels; it must lie inside the image.
    ///   - scaledWidth/scaledHeight: size the region is resized to.
    ///   - cropX/cropY: top-left of the `outputSize`×`outputSize` window taken from the resized image.
    ///   - mean/std: per-channel normalisation applied after scaling to [0, 1].
    static func resampleNormalised(_ image: RGBImage, region: (x: Int, y: Int, width: Int, height: Int),
                                   scaledWidth: Int, scaledHeight: Int, cropX: Int, cropY: Int, outputSize: Int,
                                   filter: ResampleFilter, mean: (Float, Float, Float), std: (Float, Float, Float),
                                   into output: UnsafeMutablePointer<Float>) {
        let horizontal = ResampleTaps(sourceStart: region.x, sourceSize: region.width, scaledSize: scaledWidth,
                                      offset: cropX, outputCount: outputSize, filter: filter)
        let vertical = ResampleTaps(sourceStart: region.y, sourceSize: region.height, scaledSize: scaledHeight,
                                    offset: cropY, outputCount: outputSize, filter: filter)
        // Only source rows some output row touches need the horizontal pass.
        var rowLo = image.height, rowHi = 0
        for i in 0..<outputSize {
            rowLo = min(rowLo, vertical.first[i])
            rowHi = max(rowHi, vertical.first[i] + vertical.count[i])
        }
        let rows = max(0, rowHi - rowLo)
        let rowFloats = outputSize * 3
        var intermediate = [Float](repeating: 0, count: rows * rowFloats)
        var accumulator = [Float](repeating: 0, count: rowFloats)
        let rowBytes = image.width * 3
        image.pixels.withUnsafeBufferPointer { src in
        intermediate.withUnsafeMutableBufferPointer { mid in
        accumulator.withUnsafeMutableBufferPointer { acc in
        horizontal.weights.withUnsafeBufferPointer { hw in
        horizontal.first.withUnsafeBufferPointer { hFirst in
        horizontal.count.withUnsafeBufferPointer { hCount in
        vertical.weights.withUnsafeBufferPointer { vw in
        vertical.first.withUnsafeBufferPointer { vFirst in
        vertical.count.withUnsafeBufferPointer { vCount in
            let source = src.baseAddress!, middle = mid.baseAddress!, sum = acc.baseAddress!
            // Horizontal pass first, rounded and clamped to the 8-bit range as Pillow stores its intermediate image:
            // with bicubic overshoot at sharp edges the pass order and this clamp change results by several levels.
            for r in 0..<rows {
                let srcRow = source + (rowLo + r) * rowBytes
                let midRow = middle + r * rowFloats
                for x in 0..<outputSize {
                    let w = hw.baseAddress! + x * horizontal.stride
                    var p = srcRow + hFirst[x] * 3
                    var a: Float = 0.5, b: Float = 0.5, c: Float = 0.5
                    for k in 0..<hCount[x] {
                        let wk = w[k]
                        a += wk * Float(p[0]); b += wk * Float(p[1]); c += wk * Float(p[2])
                        p += 3
                    }
                    midRow[3 * x] = min(max(a, 0), 255).rounded(.down)
                    midRow[3 * x + 1] = min(max(b, 0), 255).rounded(.down)
                    midRow[3 * x + 2] = min(max(c, 0), 255).rounded(.down)
                }
            }
            // Vertical pass as weighted sums of whole intermediate rows (contiguous, vectorisable), then round and
            // clamp to 8 bits (what ToTensor sees), normalise, and de-interleave into planes.
            let plane = outputSize * outputSize
            let scale: (Float, Float, Float) = (1 / (255 * std.0), 1 / (255 * std.1), 1 / (255 * std.2))
            let shift: (Float, Float, Float) = (mean.0 / std.0, mean.1 / std.1, mean.2 / std.2)
            for y in 0..<outputSize {
                let w = vw.baseAddress! + y * vertical.stride
                let firstRow = middle + (vFirst[y] - rowLo) * rowFloats
                let w0 = w[0]
                for i in 0..<rowFloats { sum[i] = 0.5 + w0 * firstRow[i] }
                for k in 1..<max(1, vCount[y]) {
                    let wk = w[k]
                    let row = firstRow + k * rowFloats
                    for i in 0..<rowFloats { sum[i] += wk * row[i] }
                }
                let outRow = y * outputSize
                for x in 0..<outputSize {
                    let a = min(max(sum[3 * x], 0), 255).rounded(.down)
                    let b = min(max(sum[3 * x + 1], 0), 255).rounded(.down)
                    let c = min(max(sum[3 * x + 2], 0), 255).rounded(.down)
                    output[outRow + x] = a * scale.0 - shift.0
                    output[plane + outRow + x] = b * scale.1 - shift.1
                    output[2 * plane + outRow + x] = c * scale.2 - shift.2
                }
            }
        }}}}}}}}}
    }
}
