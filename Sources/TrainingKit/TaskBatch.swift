import TensorCore

/// This rank's share of one global batch: named fields, each with the sample as its first axis.
///
/// Families name their fields (`image`, `text`, `audio`, `label`, ...); the engine only slices them into micro-batches.
public struct TaskBatch {
    /// Samples in the batch.
    public var count: Int
    /// Float fields, `[count, ...]` (images, spectrograms, multi-hot labels).
    public var tensors: [String: Tensor]
    /// Integer fields, `count` equal rows, row-major (token ids, class indices).
    public var integers: [String: [Int32]]
    /// Seconds the data source waited for this batch (loading not hidden by prefetch).
    public var waitSeconds: Double
    /// Each sample's key in its data set (`shard.tar:key`, a CSV row's image cell); empty for generated data.
    public var keys: [String]
    /// Samples the loader skipped (an image missing or not decodable) while filling this batch; others took their place.
    public var skipped = 0

    public init(count: Int, tensors: [String: Tensor] = [:], integers: [String: [Int32]] = [:], waitSeconds: Double = 0, keys: [String] = []) {
        self.count = count
        self.tensors = tensors
        self.integers = integers
        self.waitSeconds = waitSeconds
        self.keys = keys
    }

    /// The samples in `rows` (a micro-batch).
    public func slice(_ rows: Range<Int>) -> TaskBatch {
        if rows == 0..<count { return self }
        let integerRows = integers.mapValues { values -> [Int32] in
            let width = values.count / max(count, 1)
            return Array(values[(rows.lowerBound * width)..<(rows.upperBound * width)])
        }
        return TaskBatch(count: rows.count, tensors: tensors.mapValues { $0.slice(axis: 0, rows) }, integers: integerRows,
                         waitSeconds: 0, keys: keys.isEmpty ? [] : Array(keys[rows]))
    }

    /// A field the family requires; a missing one is a programming error of the family's data source.
    public func tensor(_ name: String) -> Tensor {
        guard let value = tensors[name] else { preconditionFailure("batch has no float field '\(name)' (has \(tensors.keys.sorted()))") }
        return value
    }

    public func rows(_ name: String) -> [Int32] {
        guard let value = integers[name] else { preconditionFailure("batch has no integer field '\(name)' (has \(integers.keys.sorted()))") }
        return value
    }
}

/// Where batches come from: rank r's slice of global batch i is the same whatever the world size.
public protocol TrainingDataSource: AnyObject {
    /// Global samples in one epoch.
    var samplesPerEpoch: Int { get }
    /// Positions the source so that the next batch starts at `samplesSeen` (a global sample count).
    func seek(samplesSeen: Int) throws
    /// The next local batch.
    func next() throws -> TaskBatch
}
