import DataPipeline
import Dispatch
import TensorCore
import Text

/// Training batches with each sample's mined negatives (`HardNegativeFile`) added, K slots per sample chosen by
/// `sampling` for the batch's epoch (a sample with fewer leaves its other slots empty, masked out):
/// - captions as token rows, `hard_negative_text` (K rows of the context length per sample; empty slots hold the empty
///   caption's tokens) and `hard_negative_mask` [count, K], when the file has any;
/// - images, `hard_negative_image` [count, K, 3, size, size] (other training samples read by key, decoded and augmented
///   with the training transform, seeded by the run's seed, the epoch, the sample's key and the slot, so the same on any
///   world size; empty slots are zeros) and `hard_negative_image_mask` [count, K], when the file has any.
public final class HardNegativeDataSource: TrainingDataSource {
    let base: LoaderDataSource
    let negatives: HardNegativeFile
    let tokenizer: TextTokenizer
    let contextLength: Int
    let slots: Int
    let sampling: HardNegativeSampling
    let seed: UInt64
    /// The sample id of every key, to read negative images by key (empty when the file has none).
    let idOfKey: [String: Int]

    /// Checks every key of the file, and every image key, against the training data (a key that is not a sample is
    /// an error naming its line), before any batch is read.
    public init(base: LoaderDataSource, captions negatives: HardNegativeFile, contextLength: Int, slots: Int,
                sampling: HardNegativeSampling = .first, seed: UInt64 = 0) throws {
        precondition(slots > 0, "hard negatives: slots \(slots) must be positive")
        self.base = base
        self.negatives = negatives
        tokenizer = base.tokenizer
        self.contextLength = contextLength
        self.slots = slots
        self.sampling = sampling
        self.seed = seed
        let ids = try base.sampleIDs()
        try negatives.checkKeys(known: Set(ids.keys))
        idOfKey = negatives.hasImages ? ids : [:]
    }

    public var samplesPerEpoch: Int { base.samplesPerEpoch }
    public func seek(samplesSeen: Int) throws { try base.seek(samplesSeen: samplesSeen) }

    public func next() throws -> TaskBatch {
        var batch = try base.next()  // opens the next epoch first when one ends, so `base.epoch` is this batch's
        if negatives.hasTexts { addTexts(to: &batch) }
        if negatives.hasImages {
            // Read here, not by the loader's prefetching workers: the step waits for it, so it counts as data time.
            let start = DispatchTime.now().uptimeNanoseconds
            try addImages(to: &batch)
            batch.waitSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        return batch
    }

    func choose(_ candidates: [String: [String]], for key: String) -> [String] {
        sampling.choose(from: candidates[key] ?? [], count: slots, seed: seed, epoch: base.epoch, key: key)
    }

    func addTexts(to batch: inout TaskBatch) {
        let empty = tokenizer.encode("", contextLength: contextLength)
        var tokens: [Int32] = [], mask: [Float] = []
        tokens.reserveCapacity(batch.count * slots * contextLength)
        for key in batch.keys {
            let texts = choose(negatives.texts, for: key)
            for slot in 0..<slots {
                tokens += slot < texts.count ? tokenizer.encode(texts[slot], contextLength: contextLength) : empty
                mask.append(slot < texts.count ? 1 : 0)
            }
        }
        batch.integers["hard_negative_text"] = tokens
        batch.tensors["hard_negative_mask"] = Tensor(shape: [batch.count, slots], values: mask)
    }

    func addImages(to batch: inout TaskBatch) throws {
        let transform = base.base.transform, size = base.imageSize, perImage = transform.outputCount
        var pixels = [Float](repeating: 0, count: batch.count * slots * perImage), mask: [Float] = []
        for (row, key) in batch.keys.enumerated() {
            let keys = choose(negatives.images, for: key)
            for slot in 0..<slots {
                mask.append(slot < keys.count ? 1 : 0)
                guard slot < keys.count else { continue }
                let image: RGBImage
                do { image = try base.source.load(id: idOfKey[keys[slot]]!).decodedImage() } catch {
                    throw TrainingError("\(negatives.path): image \(keys[slot]) of \(key) cannot be read (\(error))")
                }
                var random = SplitMix64(mixing: seed, UInt64(base.epoch), SplitMix64.stableHash(key), UInt64(slot), Self.imageStream)
                pixels.withUnsafeMutableBufferPointer { out in
                    transform.apply(image, rng: &random, into: out.baseAddress! + (row * slots + slot) * perImage)
                }
            }
        }
        batch.tensors["hard_negative_image"] = Tensor(shape: [batch.count, slots, 3, size, size], values: pixels)
        batch.tensors["hard_negative_image_mask"] = Tensor(shape: [batch.count, slots], values: mask)
    }

    /// Keeps the negative images' augmentation draws apart from any other use of the same seed.
    static let imageStream = SplitMix64.stableHash("hard-negative-image")
}

extension LoaderDataSource {
    /// The id of every sample of the source by key (an index scan; no sample is decoded).
    func sampleIDs() throws -> [String: Int] {
        let count = try source.sampleCount()
        let order = try source.makeOrder(seed: 0, epoch: 0, shuffle: false)
        var ids = [String: Int](minimumCapacity: count)
        for position in 0..<count {
            let id = try order.sampleID(at: position)
            ids[try source.key(id: id)] = id
        }
        return ids
    }
}

extension DataSetup {
    /// `source` with each sample's `--hard-negatives` added (`HardNegativeDataSource`), or `source` itself without the
    /// setting: the one place every family with a contrastive loss over images and captions wires them in. A family
    /// that contrasts no extra images (`images` false) refuses a file that has image negatives.
    public func addingHardNegatives(to source: TrainingDataSource, images: Bool = true) throws -> TrainingDataSource {
        guard !settings.hardNegatives.isEmpty else { return source }
        guard let loader = source as? LoaderDataSource else {
            throw TrainingError("--hard-negatives needs training data with sample keys (--train-data), not --dataset-type \(settings.datasetType.rawValue)")
        }
        let file = try HardNegativeFile(contentsOf: settings.hardNegatives)
        if !images && file.hasImages {
            throw TrainingError("\(file.path): has image negatives (\"images\"), which only --task clip contrasts; give this family a file of \"texts\" only")
        }
        return try HardNegativeDataSource(base: loader, captions: file,
                                          contextLength: contextLength, slots: settings.hardNegativesPerSample,
                                          sampling: settings.hardNegativesSampling, seed: settings.seed)
    }
}
