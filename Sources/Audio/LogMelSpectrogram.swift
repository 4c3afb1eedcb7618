/// Log-mel features, `[frames, melBins]` row-major (Kaldi's layout; ImageBind and AST transpose it to an image of
/// `melBins` rows by `frames` columns for the encoder).
public struct LogMelSpectrogram: Equatable {
    public var frames: Int
    public var melBins: Int
    public var values: [Float]

    public init(frames: Int, melBins: Int, values: [Float]) {
        precondition(values.count == frames * melBins, "LogMelSpectrogram: \(values.count) values for \(frames) × \(melBins)")
        self.frames = frames
        self.melBins = melBins
        self.values = values
    }

    /// Exactly `frames` frames: later frames cut off, missing ones zero (before normalisation, as ImageBind pads).
    public func fitted(toFrames target: Int) -> LogMelSpectrogram {
        let kept = min(frames, target) * melBins
        var values = [Float](repeating: 0, count: target * melBins)
        values.replaceSubrange(0..<kept, with: self.values[0..<kept])
        return LogMelSpectrogram(frames: target, melBins: melBins, values: values)
    }

    /// (x - mean) / std for every value: the dataset normalisation of ImageBind's and AST's audio transforms.
    public func normalized(mean: Float, std: Float) -> LogMelSpectrogram {
        let scale = 1 / std
        return LogMelSpectrogram(frames: frames, melBins: melBins, values: values.map { ($0 - mean) * scale })
    }
}
