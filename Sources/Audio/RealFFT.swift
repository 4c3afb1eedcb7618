import Foundation

/// Four frames in the lanes of one vector: every step of the filter bank applies to four frames at once.
public typealias FrameLanes = SIMD4<Double>

/// Power spectra |X[k]|², k = 0 ... n/2, of four real signals of power-of-two length n at once (one per lane), in Double.
///
/// The n real samples are packed as n/2 complex ones (even samples real, odd imaginary), transformed by an iterative
/// radix-2 FFT with precomputed twiddles and bit-reversal table, and split into the real signal's spectrum: half the
/// work of a complex FFT of size n. Double keeps the quietest bins of a loud frame exact: in Float their power is
/// swamped by the rounding of the loud ones, which moves their logarithm by up to 1e-3.
public final class RealFFT {
    public let size: Int
    let half: Int
    let bitReversed: UnsafeMutablePointer<Int>
    /// e^(-2πik/half) for k < half/2 (the complex FFT's twiddles).
    let twiddleReal: UnsafeMutablePointer<Double>, twiddleImaginary: UnsafeMutablePointer<Double>
    /// e^(-2πik/size) for k ≤ half (the split into the real spectrum).
    let splitReal: UnsafeMutablePointer<Double>, splitImaginary: UnsafeMutablePointer<Double>
    let real: UnsafeMutablePointer<FrameLanes>, imaginary: UnsafeMutablePointer<FrameLanes>

    public init(size: Int) {
        precondition(size >= 4 && size & (size - 1) == 0, "RealFFT: size \(size) is not a power of two ≥ 4")
        self.size = size
        let half = size / 2
        self.half = half
        let bits = half.trailingZeroBitCount
        bitReversed = .allocate(capacity: half)
        for index in 0..<half {
            var reversed = 0
            for bit in 0..<bits where index & (1 << bit) != 0 { reversed |= 1 << (bits - 1 - bit) }
            bitReversed[index] = reversed
        }
        let quarter = max(half / 2, 1)
        twiddleReal = .allocate(capacity: quarter)
        twiddleImaginary = .allocate(capacity: quarter)
        for k in 0..<quarter {
            twiddleReal[k] = cos(2 * Double.pi * Double(k) / Double(half))
            twiddleImaginary[k] = -sin(2 * Double.pi * Double(k) / Double(half))
        }
        splitReal = .allocate(capacity: half + 1)
        splitImaginary = .allocate(capacity: half + 1)
        for k in 0...half {
            splitReal[k] = cos(2 * Double.pi * Double(k) / Double(size))
            splitImaginary[k] = -sin(2 * Double.pi * Double(k) / Double(size))
        }
        real = .allocate(capacity: half)
        imaginary = .allocate(capacity: half)
    }

    deinit {
        bitReversed.deallocate()
        twiddleReal.deallocate()
        twiddleImaginary.deallocate()
        splitReal.deallocate()
        splitImaginary.deallocate()
        real.deallocate()
        imaginary.deallocate()
    }

    /// Writes the `size / 2 + 1` power values of the four signals in `signal` (`size` samples) to `power`.
    public func powerSpectrum(_ signal: UnsafePointer<FrameLanes>, into power: UnsafeMutablePointer<FrameLanes>) {
        let half = self.half, re = real, im = imaginary
        for index in 0..<half {
            let target = bitReversed[index]
            re[target] = signal[2 * index]
            im[target] = signal[2 * index + 1]
        }
        transform()
        // Z = FFT of the packed signal; X[k] = E[k] + W^k O[k] with E = (Z[k] + conj Z[half-k]) / 2 and
        // O = (Z[k] - conj Z[half-k]) / 2i.
        for k in 0...half {
            let a = re[k == half ? 0 : k], b = im[k == half ? 0 : k]
            let c = re[k == 0 ? 0 : half - k], d = im[k == 0 ? 0 : half - k]
            let evenReal = (a + c) * 0.5, evenImaginary = (b - d) * 0.5
            let oddReal = (b + d) * 0.5, oddImaginary = (c - a) * 0.5
            let wr = FrameLanes(repeating: splitReal[k]), wi = FrameLanes(repeating: splitImaginary[k])
            let xr = evenReal + wr * oddReal - wi * oddImaginary
            let xi = evenImaginary + wr * oddImaginary + wi * oddReal
            power[k] = xr * xr + xi * xi
        }
    }

    /// In-place complex FFT of the bit-reversed `real`, `imaginary`.
    private func transform() {
        let count = half, re = real, im = imaginary
        var length = 2
        while length <= count {
            let span = length / 2, step = count / length
            var start = 0
            while start < count {
                for k in 0..<span {
                    let wr = FrameLanes(repeating: twiddleReal[k * step]), wi = FrameLanes(repeating: twiddleImaginary[k * step])
                    let a = start + k, b = a + span
                    let tr = re[b] * wr - im[b] * wi
                    let ti = re[b] * wi + im[b] * wr
                    re[b] = re[a] - tr
                    im[b] = im[a] - ti
                    re[a] += tr
                    im[a] += ti
                }
                start += length
            }
            length *= 2
        }
    }
}
