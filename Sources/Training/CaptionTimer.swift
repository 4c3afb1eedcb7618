import CoCa
import Foundation
import TensorCore

/// Times CoCa caption generation (greedy or beam search) of a batch of random images with a freshly initialised model:
/// the peer of OpenCLIP's `generate()` in Benchmarks/caption.sh. The end token is banned below `minLength`, so every
/// caption has the same number of tokens whatever the weights.
public struct CaptionTimer {
    public struct Measurement: Sendable {
        /// Median seconds to caption the batch.
        public var secondsPerBatch: Double
        public var captionsPerSecond: Double
        /// Distinct caption lengths produced (start token included).
        public var tokenCounts: [Int]
        public var peakResidentBytes: Int
    }

    public let model: CoCaModel
    public let batch: Int
    /// 1: greedy; K > 1: beam search with K beams in one group.
    public let beams: Int
    public let limits: CaptionLimits

    /// Start and end ids are the vocabulary's last two, where the built-in BPE and CLIP's BPE put them.
    public init(model: CoCaModel, batch: Int, beams: Int, maxLength: Int, minLength: Int) {
        self.model = model
        self.batch = batch
        self.beams = beams
        let vocabulary = Int32(model.config.text.vocabSize)
        limits = CaptionLimits(startTokenId: vocabulary - 2, endTokenId: vocabulary - 1, maxLength: maxLength, minLength: minLength)
    }

    public func run(steps: Int, warmup: Int, seed: UInt64 = 0) -> Measurement {
        var generator = SplitMix64(seed: seed)
        let size = model.config.vision.imageSize
        let images = Tensor.randomNormal([batch, 3, size, size], using: &generator)
        var times: [Double] = [], lengths: Set<Int> = []
        for call in 0..<(warmup + steps) {
            let start = DispatchTime.now().uptimeNanoseconds
            let captions = beams == 1 ? model.greedyCaptions(images: images, limits: limits)
                : model.beamSearchCaptions(images: images, limits: limits, beams: beams).map(\.tokens)
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if call >= warmup { times.append(elapsed) }
            lengths.formUnion(captions.map(\.count))
        }
        let seconds = times.median
        return Measurement(secondsPerBatch: seconds, captionsPerSecond: Double(batch) / seconds, tokenCounts: lengths.sorted(),
                           peakResidentBytes: StepTimer.peakResidentBytes())
    }
}
