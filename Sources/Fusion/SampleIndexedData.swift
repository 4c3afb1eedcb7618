import TrainingKit

/// Training batches with each sample's global index (`sample_index`), which modality dropout draws from, and labels
/// checked against `--num-classes`.
final class SampleIndexedData: TrainingDataSource {
    let base: TrainingDataSource
    let rank: Int
    let worldSize: Int
    let classes: Int
    var samplesSeen = 0

    init(base: TrainingDataSource, rank: Int, worldSize: Int, classes: Int) {
        self.base = base
        self.rank = rank
        self.worldSize = worldSize
        self.classes = classes
    }

    var samplesPerEpoch: Int { base.samplesPerEpoch }

    func seek(samplesSeen: Int) throws {
        self.samplesSeen = samplesSeen
        try base.seek(samplesSeen: samplesSeen)
    }

    func next() throws -> TaskBatch {
        var batch = try base.next()
        // Ranks hold equal shares of a global batch, rank r the r-th.
        let first = samplesSeen + rank * batch.count
        samplesSeen += batch.count * worldSize
        let indices = (0..<batch.count).map { Int32(truncatingIfNeeded: first + $0) }
        if let labels = batch.integers["label"] {
            for (row, label) in labels.enumerated() where !(0..<Int32(classes)).contains(label) {
                throw TrainingError("sample \(indices[row]): label \(label) is outside the \(classes) classes of --num-classes")
            }
        }
        batch.integers["sample_index"] = indices
        return batch
    }
}
