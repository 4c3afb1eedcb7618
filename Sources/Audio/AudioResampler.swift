import Foundation

/// Band-limited resampling between integer rates, the filter of torchaudio's `functional.resample` with its defaults
/// (`sinc_interp_hann`, `lowpass_filter_width` 6, `rolloff` 0.99): a Hann-windowed sinc low-pass at `rolloff` times the
/// lower Nyquist frequency, one filter phase per output position within a period of `to / gcd` samples.
///
/// torchaudio convolves every phase with `2 * width + from / gcd` taps although the window is zero outside
/// `lowpassFilterWidth` zero crossings; each phase here keeps only those taps (about 17 for 22050 -> 16000 Hz instead
/// of 459), and accumulates in Double, so the result matches torchaudio's float64 path to float rounding.
public struct AudioResampler {
    public let sourceRate: Int
    public let targetRate: Int
    /// The rates divided by their greatest common divisor: one period of the filter bank.
    let reducedSource: Int, reducedTarget: Int
    /// Input offset (from the start of the output's period) of each phase's first tap, and the phases' taps, each
    /// zero-padded to `tapCount` so the inner loop has one fixed length.
    let firstTap: [Int]
    let tapCount: Int
    let kernel: [Double]

    /// Highest rate accepted (well above any audio format's).
    public static let maximumRate = 1_536_000

    public init(from sourceRate: Int, to targetRate: Int, lowpassFilterWidth: Int = 6, rolloff: Double = 0.99) throws {
        guard (1...Self.maximumRate).contains(sourceRate), (1...Self.maximumRate).contains(targetRate) else {
            throw AudioError("cannot resample from \(sourceRate) Hz to \(targetRate) Hz: rates must be in 1...\(Self.maximumRate) Hz")
        }
        guard lowpassFilterWidth > 0, rolloff > 0, rolloff <= 1 else {
            throw AudioError("resampler: lowpass filter width must be positive and rolloff in (0, 1]")
        }
        self.sourceRate = sourceRate
        self.targetRate = targetRate
        let divisor = Self.gcd(sourceRate, targetRate)
        let from = sourceRate / divisor, to = targetRate / divisor
        reducedSource = from
        reducedTarget = to
        let baseFrequency = Double(min(from, to)) * rolloff
        let width = Int((Double(lowpassFilterWidth) * Double(from) / baseFrequency).rounded(.up))
        let filterWidth = Double(lowpassFilterWidth)
        let scale = baseFrequency / Double(from)
        var firstTap = [Int](), taps = [[Double]]()
        firstTap.reserveCapacity(to)
        taps.reserveCapacity(to)
        for phase in 0..<to {
            // torchaudio's kernel row `phase` over the input offsets -width ..< width + from; the same operations in the
            // same order, so the kept taps equal its float64 values.
            var values = [Double](), first = Int.max
            for offset in -width..<(width + from) {
                var t = Double(-phase) / Double(to) + Double(offset) / Double(from)
                t *= baseFrequency
                guard t > -filterWidth, t < filterWidth else { continue }  // the window is zero at and beyond the clamp
                let cosine = cos(t * Double.pi / filterWidth / 2)
                let window = cosine * cosine
                t *= Double.pi
                let sinc = t == 0 ? 1 : sin(t) / t
                if first == Int.max { first = offset }
                values.append(sinc * (window * scale))
            }
            firstTap.append(first == Int.max ? 0 : first)
            taps.append(values)
        }
        self.firstTap = firstTap
        let longest = taps.map(\.count).max() ?? 0
        tapCount = longest
        kernel = taps.flatMap { $0 + [Double](repeating: 0, count: longest - $0.count) }
    }

    /// Output length for `count` input samples: ceil(count * to / from), as torchaudio.
    public func outputCount(for count: Int) -> Int { (count * reducedTarget + reducedSource - 1) / reducedSource }

    /// The resampled signal; the input is zero beyond both ends, as torchaudio pads it.
    public func resample(_ input: [Float]) -> [Float] {
        if sourceRate == targetRate { return input }
        let count = input.count, outputs = outputCount(for: count)
        var output = [Float](repeating: 0, count: outputs)
        // The input in Double with zeros around it, so every output reads `tapCount` values without bounds checks.
        let lead = max(0, -(firstTap.min() ?? 0)), tapCount = self.tapCount
        var padded = [Double](repeating: 0, count: lead + count + reducedSource + tapCount + (firstTap.max() ?? 0))
        for (index, sample) in input.enumerated() { padded[lead + index] = Double(sample) }
        padded.withUnsafeBufferPointer { x in
            kernel.withUnsafeBufferPointer { kernel in
                firstTap.withUnsafeBufferPointer { firstTap in
                    output.withUnsafeMutableBufferPointer { y in
                        var index = 0, periodStart = lead
                        while index < outputs {
                            for phase in 0..<min(reducedTarget, outputs - index) {
                                let window = x.baseAddress! + periodStart + firstTap[phase]
                                let taps = kernel.baseAddress! + phase * tapCount
                                var sum = 0.0
                                for tap in 0..<tapCount { sum += taps[tap] * window[tap] }
                                y[index + phase] = Float(sum)
                            }
                            index += reducedTarget
                            periodStart += reducedSource
                        }
                    }
                }
            }
        }
        return output
    }

    static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
}
