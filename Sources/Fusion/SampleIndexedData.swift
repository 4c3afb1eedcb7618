import TrainingKit

/// Training batches with each sample's global index (`sample_index`), which modality dropout draws from, and labels
/// checked against `--num-classes`.
final class SampleIndexedData: TrainingDataSource {
    let base: TrainingDataSource
    let rank: Int
    let worldSize: Int
    let classes: Int
    /// `label`, or `labels` (rows padded with -1) for multi-label runs.
    let labelField: String
    var samplesSeen = 0

    init(base: TrainingDataSource, rank: Int, worldSize: Int, classes: Int, labelField: String) {
        self.labelField = labelField
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
        if let labels = batch.integers[labelField] {
            let width = labels.count / max(batch.count, 1)
            for (i, label) in labels.enumerated() where label >= classes || (label < 0 && labelField == "label") {
                let row = i / width, number = "sample \(indices[row])"
                let name = batch.keys.indices.contains(row) && !batch.keys[row].isEmpty ? "\(batch.keys[row]) (\(number))" : number
                throw TrainingError("\(name): label \(label) is outside the \(classes) classes of --num-classes")
            }
        }
        batch.integers["sample_index"] = indices
        return batch
    }
}
