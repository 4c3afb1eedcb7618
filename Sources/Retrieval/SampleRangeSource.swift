import DataPipeline

/// Samples `range` of a random-access source (CSV rows, image-folder files) as a source of its own, in order: one chunk
/// of a collection that `embed` writes as one output shard.
final class SampleRangeSource: SampleSource, @unchecked Sendable {
    let base: SampleSource
    let range: Range<Int>

    init(base: SampleSource, range: Range<Int>) {
        self.base = base
        self.range = range
    }

    var summary: String { "\(base.summary), samples \(range.lowerBound)..<\(range.upperBound)" }
    var fields: [SampleField] { base.fields }
    var indexingSkipped: Int { 0 }
    func sampleCount() throws -> Int { range.count }
    func load(id: Int) throws -> RawSample { try base.load(id: range.lowerBound + id) }

    func makeOrder(seed: UInt64, epoch: Int, shuffle: Bool) throws -> SampleOrder {
        PermutedOrder(count: range.count, seed: seed, epoch: epoch, shuffle: false)
    }
}
