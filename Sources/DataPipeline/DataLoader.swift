import TensorCore
import Foundation
import Text

/// Settings of one loader run (one epoch, or the remainder of one when resuming).
public struct LoaderOptions: Sendable {
    public enum Mode: String, Sendable {
        /// Shuffled, augmented; full batches only: a bad sample is replaced by a deterministic substitute, and the final
        /// partial global batch is dropped.
        case training
        /// Dataset order, every sample once; a bad sample is dropped (counted), the last batch may be partial.
        case evaluation
    }

    public var mode: Mode
    /// Per-rank batch size B; the global batch is G = B × worldSize.
    public var batchSize: Int
    public var worldSize: Int
    public var rank: Int
    public var seed: UInt64
    public var epoch: Int
    /// Samples per epoch (OpenCLIP `--train-num-samples`); nil = one pass over the data. Training only.
    public var epochLength: Int?
    /// Global sample position to start at (resume). Batches are [start + i·G, start + (i+1)·G).
    public var startPosition: Int
    public var transform: ImageTransform
    /// How audio fields become filter banks; its augmentation applies in training mode only.
    public var audio: AudioTransform
    public var contextLength: Int
    /// Background decoding threads; 0 builds batches on the caller's thread inside `next()`.
    public var workers: Int
    /// Batches built ahead of consumption at most.
    public var prefetchDepth: Int
    /// Substitutes tried for one slot before the loader gives up with an error.
    public var maxSubstituteAttempts: Int
    /// Where per-sample warnings go (rate-limited).
    public var warnings: WarningLog
    /// The fields each batch carries, a subset of the source's `fields`; nil = all of the source's fields. Image fields
    /// go through `transform`, audio fields through `audio`, text fields through the tokenizer.
    public var fields: [SampleField]?

    public init(mode: Mode = .training, batchSize: Int, worldSize: Int = 1, rank: Int = 0, seed: UInt64 = 0, epoch: Int = 0,
                epochLength: Int? = nil, startPosition: Int = 0, transform: ImageTransform, contextLength: Int = 77,
                workers: Int = 2, prefetchDepth: Int = 4, maxSubstituteAttempts: Int = 64, warnings: WarningLog = WarningLog(),
                fields: [SampleField]? = nil, audio: AudioTransform = AudioTransform()) {
        self.mode = mode
        self.batchSize = batchSize
        self.worldSize = worldSize
        self.rank = rank
        self.seed = seed
        self.epoch = epoch
        self.epochLength = epochLength
        self.startPosition = startPosition
        self.transform = transform
        self.audio = audio
        self.contextLength = contextLength
        self.workers = workers
        self.prefetchDepth = prefetchDepth
        self.maxSubstituteAttempts = maxSubstituteAttempts
        self.warnings = warnings
        self.fields = fields
    }
}

/// Loads batches for one rank with background decoding and augmentation.
///
/// Sharding: the epoch order maps global positions to samples (see `SampleSource.makeOrder`). Global batch i is
/// positions [s + i·G, s + (i+1)·G) with s = `startPosition`; rank r takes [s + i·G + r·B, s + i·G + (r+1)·B). The sample
/// at position p is augmented with SplitMix64(seed, epoch, p), so a global batch has the same samples and pixels
/// whatever the world size, and a resumed run (s = step·G) continues exactly.
///
/// Substitution rule (training): if the sample at position p fails to load or decode, attempt a = 1, 2, ... takes the
/// sample at position q drawn uniformly from [0, L) (L = epoch length) by SplitMix64(seed, epoch, p, a), augmented with
/// the stream (seed, epoch, p, a). This depends only on p, so all ranks and world sizes agree and batches stay full.
///
/// Fields: a sample lacking a field the loader needs never reaches it from the built-in sources (they skip such
/// samples while indexing, counted in `skippedSamples`, so the order and the rules above are untouched); one that
/// does anyway is a bad sample like an undecodable image. A field absent from a whole shard, CSV file or source stops
/// the run with a one-line error (`DataPipelineError.fieldNotInDataset`) instead of being substituted sample by sample.
public final class DataLoader: @unchecked Sendable {
    public let options: LoaderOptions
    /// Number of batches `next()` yields in this run.
    public let batchCount: Int
    /// Epoch length L in samples.
    public let epochLength: Int
    public let source: SampleSource

    private let builder: BatchBuilder
    private let queue: PrefetchQueue

    public init(source: SampleSource, tokenizer: TextTokenizer, options: LoaderOptions) throws {
        guard options.batchSize > 0, options.worldSize > 0, (0..<options.worldSize).contains(options.rank) else {
            throw DataPipelineError.invalidOption("batch size \(options.batchSize), rank \(options.rank) of \(options.worldSize)")
        }
        guard options.startPosition >= 0, options.contextLength > 0, options.maxSubstituteAttempts > 0 else {
            throw DataPipelineError.invalidOption("negative start position, context length or substitute attempts")
        }
        let fields = try Self.resolveFields(options.fields, of: source)
        if fields.contains(where: { $0.kind == .audio }) { _ = try AudioFeaturizer(transform: options.audio) }  // bad settings fail here, once
        self.source = source
        self.options = options
        let global = options.batchSize * options.worldSize
        switch options.mode {
        case .training:
            // With an explicit epoch length a WebDataset is not scanned up front: shards are indexed as the order reaches them.
            let length = try options.epochLength ?? source.sampleCount()
            guard length > 0 else { throw DataPipelineError.invalidOption("epoch length must be positive") }
            epochLength = length
            batchCount = max(0, (length - options.startPosition) / global)
        case .evaluation:
            let available = try source.sampleCount()
            epochLength = available
            batchCount = max(0, (available - options.startPosition + global - 1) / global)
        }
        let order = try source.makeOrder(seed: options.seed, epoch: options.epoch, shuffle: options.mode == .training)
        builder = BatchBuilder(source: source, order: order, tokenizer: tokenizer, options: options, fields: fields, epochLength: epochLength)
        queue = PrefetchQueue(builder: builder, batchCount: batchCount, depth: max(1, options.prefetchDepth), workers: options.workers)
    }

    /// The wanted fields, each of which the source must provide (matched by name: a consumer may read an extra field
    /// as another kind, e.g. a second image).
    static func resolveFields(_ wanted: [SampleField]?, of source: SampleSource) throws -> [SampleField] {
        let fields = wanted ?? source.fields
        try SampleField.validate(fields)
        let provided = Set(source.fields.map(\.name))
        if let absent = fields.first(where: { !provided.contains($0.name) }) {
            throw DataPipelineError.fieldNotInDataset(source: source.summary, field: absent.name, detail: "its samples have \(source.fields.names)")
        }
        return fields
    }

    /// Stops the background threads; batches already being built are finished and discarded.
    deinit { queue.stop() }

    /// Returns the next batch and how long the caller waited for it (seconds), or nil after the last batch.
    /// Throws when a batch could not be built (e.g. every substitute of a slot failed).
    public func next() throws -> (batch: Batch, waitSeconds: Double)? {
        try queue.next()
    }

    /// Builds batch `index` synchronously, independent of the prefetch queue (for tests and inspection).
    public func buildBatch(_ index: Int) throws -> Batch { try builder.build(batch: index) }

    /// Skipped samples in consumed batches so far, plus those dropped while indexing the source.
    public var skippedSamples: Int { queue.skippedInConsumedBatches + source.indexingSkipped }

    /// Total time spent waiting in `next()`.
    public var totalWaitSeconds: Double { queue.totalWaitSeconds }

    /// Stops the workers (they finish their current batch) and waits for them; `next()` then returns nil.
    public func stop() { queue.stop() }
}

/// Bounded, ordered hand-off between worker threads building batches and the consumer. Workers hold only this
/// object (not the loader), so dropping the loader stops them.
final class PrefetchQueue: @unchecked Sendable {
    private let builder: BatchBuilder
    private let batchCount: Int
    private let depth: Int
    private let workers: Int
    private let condition = NSCondition()
    private var results: [Int: Result<Batch, Error>] = [:]
    private var nextToBuild = 0
    private var consumed = 0
    private var stopping = false
    private var activeWorkers = 0
    private var skipped = 0
    private var waited = 0.0

    init(builder: BatchBuilder, batchCount: Int, depth: Int, workers: Int) {
        self.builder = builder
        self.batchCount = batchCount
        self.depth = depth
        self.workers = workers
        activeWorkers = workers
        for w in 0..<workers {
            let thread = Thread { [self] in self.workerLoop() }
            thread.name = "DataLoader-\(w)"
            thread.start()
        }
    }

    var skippedInConsumedBatches: Int { condition.lock(); defer { condition.unlock() }; return skipped }
    var totalWaitSeconds: Double { condition.lock(); defer { condition.unlock() }; return waited }

    func next() throws -> (batch: Batch, waitSeconds: Double)? {
        let start = DispatchTime.now().uptimeNanoseconds
        condition.lock()
        guard consumed < batchCount, !stopping else { condition.unlock(); return nil }
        let index = consumed
        let result: Result<Batch, Error>
        if workers == 0 {
            condition.unlock()
            result = Result { try builder.build(batch: index) }
            condition.lock()
        } else {
            while results[index] == nil { condition.wait() }
            result = results.removeValue(forKey: index)!
        }
        consumed += 1
        condition.broadcast()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        waited += seconds
        if case .success(let batch) = result { skipped += batch.skipped }
        condition.unlock()
        return (try result.get(), seconds)
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while activeWorkers > 0 { condition.wait() }
        condition.unlock()
    }

    private func workerLoop() {
        condition.lock()
        while true {
            while !stopping && nextToBuild < batchCount && nextToBuild >= consumed + depth { condition.wait() }
            if stopping || nextToBuild >= batchCount { break }
            let index = nextToBuild
            nextToBuild += 1
            condition.unlock()
            let result = Result { try builder.build(batch: index) }
            condition.lock()
            results[index] = result
            condition.broadcast()
        }
        activeWorkers -= 1
        condition.broadcast()
        condition.unlock()
    }
}

/// Builds one rank's batch: positions, substitutes, decoding, augmentation, tokenisation. Stateless per call, so
/// batches can be built on any thread in any order with identical results.
struct BatchBuilder: @unchecked Sendable {
    let source: SampleSource
    let order: SampleOrder
    let tokenizer: TextTokenizer
    let options: LoaderOptions
    let fields: [SampleField]
    let epochLength: Int

    func build(batch index: Int) throws -> Batch {
        let b = options.batchSize, global = b * options.worldSize
        let first = options.startPosition + index * global + options.rank * b
        let end: Int
        if options.mode == .evaluation {
            end = min(first + b, epochLength)
        } else {
            end = first + b
        }
        let slots = max(0, end - first)
        var assembler = try BatchAssembler(fields: fields, slots: slots, transform: options.transform, audio: options.audio,
                                           augmentAudio: options.mode == .training, tokenizer: tokenizer, contextLength: options.contextLength)
        var sampleIndices: [Int] = [], keys: [String] = []
        var skipped = 0
        for position in first..<(first + slots) {
            var attempt = 0
            var lastError: Error? = nil
            while true {
                if attempt > 0 && options.mode == .evaluation { break }
                if attempt >= options.maxSubstituteAttempts {
                    throw DataPipelineError.tooManyFailures(position: position, attempts: attempt, lastError: "\(lastError.map { "\($0)" } ?? "?")")
                }
                let samplePosition = attempt == 0 ? position : substitutePosition(for: position, attempt: attempt)
                do {
                    let id = try order.sampleID(at: samplePosition)
                    let raw = try source.load(id: id)
                    let rng = ImageTransform.augmentationRandom(seed: options.seed, epoch: options.epoch, position: position, attempt: attempt)
                    try assembler.append(raw, rng: rng)
                    sampleIndices.append(position)
                    keys.append(raw.key)
                    break
                } catch let error as DataPipelineError {
                    if error.stopsTheRun { throw error }  // a broken order/source or a field the data lacks, not a bad sample
                    options.warnings.warn("\(error); sample skipped")
                    skipped += 1
                    lastError = error
                    attempt += 1
                }
            }
        }
        var batch = Batch(index: index, count: assembler.filled, fields: assembler.finish(), sampleIndices: sampleIndices, keys: keys,
                          skipped: skipped, imageSize: options.transform.size, contextLength: options.contextLength)
        batch.melBins = options.audio.melBins
        batch.audioFrames = options.audio.frames
        return batch
    }

    func substitutePosition(for position: Int, attempt: Int) -> Int {
        var rng = SplitMix64(mixing: options.seed, UInt64(options.epoch), UInt64(position), UInt64(attempt), RandomStream.substitute.rawValue)
        return rng.below(epochLength)
    }
}
