import TensorCore
import Foundation

/// A dataset: samples addressed by an opaque integer id, and an epoch order mapping global positions to ids.
public protocol SampleSource: AnyObject, Sendable {
    /// Short description for logs ("webdataset: 12 shards", ...).
    var summary: String { get }
    /// Number of usable samples in one pass over the data (may scan indexes the first time).
    func sampleCount() throws -> Int
    /// The order of epoch `epoch`; positions may run past `sampleCount()` (further passes, reshuffled).
    func makeOrder(seed: UInt64, epoch: Int, shuffle: Bool) throws -> SampleOrder
    /// The fields every sample of this source has (WebDataset and CSV sources: the ones they were asked for; samples
    /// lacking one are skipped while indexing). A loader may ask for any subset.
    var fields: [SampleField] { get }
    /// Loads one sample by id with (at least) `fields`; a missing or unreadable file throws (the loader counts and
    /// replaces it).
    func load(id: Int) throws -> RawSample
    /// Samples found unusable while indexing (incomplete tar members, samples lacking a field).
    var indexingSkipped: Int { get }
    /// The key `load(id:)` gives the sample (sources with an index answer without reading the sample).
    func key(id: Int) throws -> String
}

extension SampleSource {
    public func key(id: Int) throws -> String { try load(id: id).key }
}

/// Maps a global position in an epoch to a sample id; shared by all loader threads.
public protocol SampleOrder: AnyObject, Sendable {
    func sampleID(at position: Int) throws -> Int
}

/// Order for random-access sources: pass k = positions [kN, (k+1)N) is a keyed pseudo-random permutation of 0..<N
/// (a Feistel network with cycle walking, so any position is computed in O(1) memory and time).
public final class PermutedOrder: SampleOrder, @unchecked Sendable {
    public let count: Int
    private let seed: UInt64
    private let epoch: Int
    private let shuffle: Bool

    public init(count: Int, seed: UInt64, epoch: Int, shuffle: Bool) {
        precondition(count > 0, "PermutedOrder: empty dataset")
        self.count = count
        self.seed = seed
        self.epoch = epoch
        self.shuffle = shuffle
    }

    public func sampleID(at position: Int) throws -> Int {
        let pass = position / count, index = position % count
        guard shuffle else { return index }
        let key = SplitMix64(mixing: seed, UInt64(epoch), UInt64(pass), RandomStream.permutation.rawValue).state
        return FeistelPermutation(count: count, key: key).apply(index)
    }
}

/// A keyed bijection of 0..<count: a 4-round balanced Feistel network on the smallest even number of bits covering
/// `count`, with cycle walking to stay inside the range.
public struct FeistelPermutation: Sendable {
    public let count: Int
    private let halfBits: Int
    private let keys: (UInt64, UInt64, UInt64, UInt64)

    public init(count: Int, key: UInt64) {
        self.count = count
        var bits = 2
        while (1 << bits) < count { bits += 2 }
        halfBits = bits / 2
        var rng = SplitMix64(seed: key)
        keys = (rng.next(), rng.next(), rng.next(), rng.next())
    }

    public func apply(_ index: Int) -> Int {
        var x = UInt64(index)
        repeat { x = round(x) } while x >= UInt64(count)
        return Int(x)
    }

    private func round(_ value: UInt64) -> UInt64 {
        let mask = (UInt64(1) << UInt64(halfBits)) - 1
        var left = value >> UInt64(halfBits), right = value & mask
        for k in [keys.0, keys.1, keys.2, keys.3] {
            let f = SplitMix64.mix(right ^ k) & mask
            (left, right) = (right, left ^ f)
        }
        return left << UInt64(halfBits) | right
    }
}

/// Rate-limited warning printer: the first `limit` messages go to standard error (or a custom sink), then one notice;
/// `limit` 0 silences it (the counter still counts).
public final class WarningLog: @unchecked Sendable {
    private let lock = NSLock()
    private let limit: Int
    private let sink: @Sendable (String) -> Void
    public private(set) var count = 0

    public init(limit: Int = 20, sink: @escaping @Sendable (String) -> Void = { message in
        FileHandle.standardError.write(Data(("warning: " + message + "\n").utf8))
    }) {
        self.limit = limit
        self.sink = sink
    }

    public func warn(_ message: String) {
        lock.lock()
        count += 1
        let n = count
        lock.unlock()
        if n <= limit { sink(message) }
        else if n == limit + 1 && limit > 0 { sink("further data warnings suppressed") }
    }
}
