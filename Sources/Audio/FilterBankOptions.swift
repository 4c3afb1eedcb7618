/// The options of Kaldi's `compute-fbank-feats` as `torchaudio.compliance.kaldi.fbank` names them. The defaults are the
/// features of ImageBind and AST: `htk_compat=True, use_energy=False, window_type='hanning', num_mel_bins=128,
/// dither=0.0, frame_length=25, frame_shift=10, sample_frequency=16000`, with torchaudio's own defaults for the rest
/// (pre-emphasis 0.97, DC offset removed per frame, FFT size rounded up to a power of two, `snip_edges`, low frequency
/// 20 Hz, high frequency at Nyquist, power spectrum, log). Without energy, `energy_floor`, `raw_energy` and
/// `htk_compat` do not change the output; dither is always off (features are deterministic).
public struct FilterBankOptions: Equatable {
    public enum Window: String, CaseIterable { case hanning, hamming, povey, rectangular, blackman }

    public var sampleRate: Double = 16000
    public var frameLengthMilliseconds: Double = 25
    public var frameShiftMilliseconds: Double = 10
    public var melBins = 128
    public var lowFrequency: Double = 20
    /// Highest frequency of the mel bins; zero or negative is an offset from Nyquist.
    public var highFrequency: Double = 0
    public var preemphasis: Double = 0.97
    public var removeDCOffset = true
    public var roundToPowerOfTwo = true
    public var window: Window = .hanning
    public var blackmanCoefficient: Double = 0.42
    /// Power (|X|²) rather than magnitude spectrum.
    public var usePower = true
    /// Log of the mel energies (floored at Float's epsilon) rather than the energies.
    public var useLog = true

    public init() {}

    /// Samples per frame and between frames: `int(rate * ms / 1000)` as Kaldi truncates.
    public var frameLength: Int { Int(sampleRate * frameLengthMilliseconds * 0.001) }
    public var frameShift: Int { Int(sampleRate * frameShiftMilliseconds * 0.001) }
    public var fftSize: Int {
        roundToPowerOfTwo ? 1 << (Int.bitWidth - (frameLength - 1).leadingZeroBitCount) : frameLength
    }

    /// Frames of a signal of `count` samples with snip_edges: only frames that fit completely.
    public func frameCount(samples count: Int) -> Int {
        count < frameLength ? 0 : 1 + (count - frameLength) / frameShift
    }
}
