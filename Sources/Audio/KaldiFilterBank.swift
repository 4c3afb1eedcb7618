import Foundation

/// Kaldi log-mel filter banks exactly as `torchaudio.compliance.kaldi.fbank` computes them (its float64 path: every
/// frame is processed in Double, so the values agree with it to float rounding), with the window, mel weights and FFT
/// tables built once.
///
/// Per frame of `frameLength` samples every `frameShift`: the frame's mean is removed, pre-emphasis
/// `x[j] -= p * x[max(0, j-1)]`, the window, zero padding to the FFT size, the power spectrum, triangular mel filters on
/// the HTK mel scale `1127 ln(1 + f/700)` (built in Float as torchaudio builds them), and the log floored at Float's
/// epsilon.
public final class KaldiFilterBank {
    public let options: FilterBankOptions
    let frameLength: Int, frameShift: Int, fftSize: Int
    let window: [Double]
    /// Per mel bin: the first FFT bin it covers, and where its non-zero weights start in `melWeights` and how many.
    let melStart: [Int], melOffset: [Int], melCount: [Int]
    let melWeights: [Double]
    let fft: RealFFT

    public init(options: FilterBankOptions = FilterBankOptions()) throws {
        let frameLength = options.frameLength, frameShift = options.frameShift, fftSize = options.fftSize
        guard options.sampleRate > 0 else { throw AudioError("filter bank: sample rate \(options.sampleRate) must be positive") }
        guard frameLength >= 2, frameShift > 0 else {
            throw AudioError("filter bank: frame length \(frameLength) and shift \(frameShift) samples must be at least 2 and 1")
        }
        guard fftSize >= 4, fftSize & (fftSize - 1) == 0 else {
            throw AudioError("filter bank: FFT size \(fftSize) is not a power of two (use round-to-power-of-two)")
        }
        guard (0.0...1.0).contains(options.preemphasis) else { throw AudioError("filter bank: pre-emphasis must be in [0, 1]") }
        self.options = options
        self.frameLength = frameLength
        self.frameShift = frameShift
        self.fftSize = fftSize
        window = Self.window(options.window, length: frameLength, blackman: options.blackmanCoefficient)
        let (starts, rows) = try Self.melFilters(options, fftSize: fftSize)
        melStart = starts
        melCount = rows.map(\.count)
        melOffset = rows.indices.map { rows[..<$0].reduce(0) { $0 + $1.count } }
        melWeights = rows.flatMap { $0 }
        fft = RealFFT(size: fftSize)
    }

    /// Frames of `waveform`.
    public func frameCount(samples: Int) -> Int { options.frameCount(samples: samples) }

    /// The features of `waveform` (samples at `options.sampleRate`), `[frames, melBins]` row-major; a waveform shorter
    /// than one frame has no frames. `subtractingMean` removes the waveform's mean first, as ImageBind and AST do.
    /// Frames go through in groups of four, one per vector lane (the last group repeats its last frame).
    public func compute(_ waveform: [Float], subtractingMean: Bool = true) -> [Float] {
        let frames = frameCount(samples: waveform.count), bins = options.melBins
        var output = [Float](repeating: 0, count: frames * bins)
        guard frames > 0 else { return output }
        var mean = 0.0
        if subtractingMean {
            for sample in waveform { mean += Double(sample) }
            mean /= Double(waveform.count)
        }
        let frameLength = self.frameLength, fftSize = self.fftSize, shift = self.frameShift
        let preemphasis = FrameLanes(repeating: options.preemphasis), removeDC = options.removeDCOffset
        let usePower = options.usePower, useLog = options.useLog
        let floor = Double(Float.ulpOfOne), offset = FrameLanes(repeating: mean), inverseLength = 1 / Double(frameLength)
        let x = UnsafeMutablePointer<FrameLanes>.allocate(capacity: fftSize)
        let spectrum = UnsafeMutablePointer<FrameLanes>.allocate(capacity: fftSize / 2 + 1)
        defer {
            x.deallocate()
            spectrum.deallocate()
        }
        x.initialize(repeating: FrameLanes(), count: fftSize)
        waveform.withUnsafeBufferPointer { samples in
            window.withUnsafeBufferPointer { w in
                melWeights.withUnsafeBufferPointer { weights in
                    output.withUnsafeMutableBufferPointer { out in
                        for group in stride(from: 0, to: frames, by: 4) {
                            let s0 = group * shift, s1 = min(group + 1, frames - 1) * shift
                            let s2 = min(group + 2, frames - 1) * shift, s3 = min(group + 3, frames - 1) * shift
                            var sum = FrameLanes()
                            for j in 0..<frameLength {
                                let value = FrameLanes(Double(samples[s0 + j]), Double(samples[s1 + j]), Double(samples[s2 + j]),
                                                       Double(samples[s3 + j])) - offset
                                x[j] = value
                                sum += value
                            }
                            if removeDC {
                                let frameMean = sum * inverseLength
                                for j in 0..<frameLength { x[j] -= frameMean }
                            }
                            if options.preemphasis != 0 {
                                for j in stride(from: frameLength - 1, to: 0, by: -1) { x[j] -= preemphasis * x[j - 1] }
                                x[0] -= preemphasis * x[0]
                            }
                            for j in 0..<frameLength { x[j] *= FrameLanes(repeating: w[j]) }
                            fft.powerSpectrum(x, into: spectrum)
                            if !usePower {
                                for k in 0...(fftSize / 2) { spectrum[k] = spectrum[k].squareRoot() }
                            }
                            let lanes = min(4, frames - group)
                            for bin in 0..<bins {
                                let first = melStart[bin], start = melOffset[bin]
                                var energy = FrameLanes()
                                for k in 0..<melCount[bin] { energy += weights[start + k] * spectrum[first + k] }
                                for lane in 0..<lanes {
                                    out[(group + lane) * bins + bin] = Float(useLog ? log(max(energy[lane], floor)) : energy[lane])
                                }
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// torchaudio's `_feature_window_function` (symmetric windows, `periodic=False`).
    static func window(_ type: FilterBankOptions.Window, length: Int, blackman: Double) -> [Double] {
        let a = 2 * Double.pi / Double(length - 1)
        return (0..<length).map { index in
            let n = Double(index)
            switch type {
            case .hanning: return 0.5 - 0.5 * cos(a * n)
            case .hamming: return 0.54 - 0.46 * cos(a * n)
            case .povey: return pow(0.5 - 0.5 * cos(a * n), 0.85)
            case .rectangular: return 1
            case .blackman: return blackman - 0.5 * cos(a * n) + (0.5 - blackman) * cos(2 * a * n)
            }
        }
    }

    /// torchaudio's `get_mel_banks` without VTLN warping, in Float as it computes them (its bin indices and FFT
    /// frequencies are float32 tensors), kept sparse: each triangle covers a few of the `fftSize / 2` bins (the
    /// Nyquist bin has weight zero).
    static func melFilters(_ options: FilterBankOptions, fftSize: Int) throws -> ([Int], [[Double]]) {
        let bins = options.melBins
        guard bins > 3 else { throw AudioError("filter bank: at least 4 mel bins are needed, got \(bins)") }
        let nyquist = 0.5 * options.sampleRate
        let low = options.lowFrequency
        let high = options.highFrequency <= 0 ? options.highFrequency + nyquist : options.highFrequency
        guard low >= 0, low < nyquist, high > 0, high <= nyquist, low < high else {
            throw AudioError("filter bank: bad frequencies: low \(low) Hz and high \(high) Hz against Nyquist \(nyquist) Hz")
        }
        func mel(_ frequency: Double) -> Double { 1127 * log(1 + frequency / 700) }
        let melLow = mel(low), delta = (mel(high) - melLow) / Double(bins + 1)
        let binWidth = Float(options.sampleRate / Double(fftSize))
        let fftMel: [Float] = (0..<(fftSize / 2)).map { k in
            let frequency = binWidth * Float(k)
            return 1127 * log(1 + frequency / 700)
        }
        var starts = [Int](), weights = [[Double]]()
        for bin in 0..<bins {
            let left = Float(melLow) + Float(bin) * Float(delta)
            let center = Float(melLow) + (Float(bin) + 1) * Float(delta)
            let right = Float(melLow) + (Float(bin) + 2) * Float(delta)
            var first = -1, row = [Double]()
            for (k, m) in fftMel.enumerated() {
                let weight = max(0, min((m - left) / (center - left), (right - m) / (right - center)))
                guard weight > 0 else {
                    if first >= 0 { break }
                    continue
                }
                if first < 0 { first = k }
                row.append(Double(weight))
            }
            starts.append(max(first, 0))
            weights.append(row)
        }
        return (starts, weights)
    }
}
