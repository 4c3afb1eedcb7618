import DataPipeline

/// Makes `--hard-negatives` files from a data set (`swiftclip hard-negatives`).
public enum HardNegativeMining {
    /// What one file holds.
    public struct Summary: Sendable {
        public var samples = 0, samplesWithNegatives = 0, negatives = 0

        public init() {}

        /// Adds one sample with its negatives.
        public mutating func add(negatives: Int) {
            samples += 1
            samplesWithNegatives += negatives == 0 ? 0 : 1
            self.negatives += negatives
        }
    }

    /// Every image-text sample of `source`, in the data's order, with NegCLIP's word-order negatives of its caption
    /// (samples whose caption has none are left out of the file). Keys are the ones training reads the samples by.
    public static func wordOrder(source: SampleSource, perturbation: WordOrderPerturbation,
                                 output path: String) throws -> Summary {
        let count = try source.sampleCount()
        let order = try source.makeOrder(seed: 0, epoch: 0, shuffle: false)
        var entries: [(key: String, texts: [String])] = [], summary = Summary()
        for position in 0..<count {
            let sample = try source.load(id: try order.sampleID(at: position))
            let text = try sample.value(of: .text)
            guard case .text(let caption) = text else { continue }
            let negatives = perturbation.negatives(of: caption, key: sample.key)
            summary.add(negatives: negatives.count)
            entries.append((sample.key, negatives))
        }
        try HardNegativeFile.write(entries, to: path)
        return summary
    }
}
