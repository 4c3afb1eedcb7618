import TensorCore
import Foundation

/// WebDataset tar shards: samples are consecutive members sharing a key (path up to the first dot of the basename),
/// each member a field named by its extension (see `ShardIndex`). Samples lacking one of the source's `fields` are
/// skipped while indexing (counted, with a warning naming the shard, key and field), or with `skipIncomplete` off are an
/// error naming them; a field that no sample of a shard has stops the run with an error.
public final class WebDatasetSource: SampleSource, @unchecked Sendable {
    public let shards: [String]
    /// The wanted fields, then the optional ones.
    public let fields: [SampleField]
    /// Fields read when a sample has them; a sample without one still counts, with empty bytes for it (e.g. the `json`
    /// metadata an evaluation reads reference captions from).
    public let optionalFields: [SampleField]
    /// Shuffle-buffer capacity used by shuffled epoch orders (OpenCLIP uses 5000 for samples).
    public let shuffleBufferSize: Int
    let warnings: WarningLog
    /// Whether a sample lacking a wanted field is skipped (counted, with a warning) or an error.
    public let skipIncomplete: Bool
    private let lock = NSLock()
    private var indexes: [Int: ShardIndex] = [:]

    /// - Parameter shardSpec: brace pattern(s) joined by `::`, e.g. `/data/train-{000000..000123}.tar`.
    /// - Parameter fields: what every sample must have; image and caption, as OpenCLIP reads, by default.
    public init(shardSpec: String, fields: [SampleField] = SampleField.imageText, optionalFields: [SampleField] = [],
                shuffleBufferSize: Int = 5000, warnings: WarningLog = WarningLog(), skipIncomplete: Bool = true) throws {
        self.skipIncomplete = skipIncomplete
        shards = try BraceExpansion.expandSources(shardSpec)
        guard !shards.isEmpty else { throw DataPipelineError.invalidOption("no shards in '\(shardSpec)'") }
        try SampleField.validate(fields + optionalFields)
        guard optionalFields.allSatisfy({ $0.kind == .bytes }) else {
            throw DataPipelineError.invalidOption("optional fields carry bytes, got [\(optionalFields.names)]")
        }
        self.fields = fields + optionalFields
        self.optionalFields = optionalFields
        self.shuffleBufferSize = max(1, shuffleBufferSize)
        self.warnings = warnings
    }

    public var summary: String { "webdataset: \(shards.count) shard(s)" }

    var wantedFields: [SampleField] { Array(fields.dropLast(optionalFields.count)) }

    public var indexingSkipped: Int {
        lock.lock(); defer { lock.unlock() }
        return indexes.values.reduce(0) { $0 + $1.skipped }
    }

    /// Shards whose headers have been scanned so far.
    var indexedShardCount: Int {
        lock.lock(); defer { lock.unlock() }
        return indexes.count
    }

    public func sampleCount() throws -> Int {
        try (0..<shards.count).reduce(0) { $0 + (try usableIndex(shard: $1)).members.count }
    }

    /// Members of shard `i`, scanned on first use. An unreadable shard warns once and counts as empty; a damaged one
    /// keeps the samples before the damage and counts the incomplete one as skipped.
    func index(shard i: Int) -> ShardIndex {
        lock.lock()
        if let cached = indexes[i] { lock.unlock(); return cached }
        lock.unlock()
        let built = buildIndex(shard: i)
        lock.lock()
        defer { lock.unlock() }
        if let cached = indexes[i] { return cached }
        indexes[i] = built
        return built
    }

    /// `index(shard:)`, throwing when a wanted field is absent from the whole shard.
    func usableIndex(shard i: Int) throws -> ShardIndex {
        let index = index(shard: i)
        if let absent = index.absentField { throw absent }
        if let incomplete = index.firstIncomplete { throw incomplete }
        return index
    }

    private func buildIndex(shard i: Int) -> ShardIndex {
        let path = shards[i]
        do {
            let scan = try TarReader.scan(path: path)
            return ShardIndex(scan: scan, shardName: URL(fileURLWithPath: path).lastPathComponent, fields: wantedFields,
                              optionalFields: optionalFields, warnings: warnings, skipIncomplete: skipIncomplete)
        } catch {
            warnings.warn("\(error); shard ignored")
            return .empty
        }
    }

    static func makeID(shard: Int, member: Int) -> Int { shard << 32 | member }

    public func key(id: Int) throws -> String {
        let shard = id >> 32, memberIndex = id & 0xFFFF_FFFF
        guard shard < shards.count else { throw DataPipelineError.invalidOption("sample id \(id) out of range") }
        let index = try usableIndex(shard: shard)
        guard memberIndex < index.members.count else { throw DataPipelineError.invalidOption("sample id \(id) out of range") }
        return URL(fileURLWithPath: shards[shard]).lastPathComponent + ":" + index.members[memberIndex].key
    }

    public func load(id: Int) throws -> RawSample {
        let shard = id >> 32, memberIndex = id & 0xFFFF_FFFF
        guard shard < shards.count else { throw DataPipelineError.invalidOption("sample id \(id) out of range") }
        let index = try usableIndex(shard: shard)
        guard memberIndex < index.members.count else { throw DataPipelineError.invalidOption("sample id \(id) out of range") }
        let path = shards[shard]
        let file = try RandomAccessFile(path: path)
        let name = URL(fileURLWithPath: path).lastPathComponent + ":" + index.members[memberIndex].key
        var values: [String: RawSample.Value] = [:]
        for (f, field) in fields.enumerated() {
            guard let span = index.spans[memberIndex * fields.count + f] else {
                values[field.name] = .bytes([])
                continue
            }
            let bytes = try file.readBytes(count: span.size, at: span.offset)
            if !span.isInJSON {
                values[field.name] = try FieldValueParser.value(of: field, bytes: bytes, sample: name)
            } else if field == .labels {
                values[field.name] = .labels(try Self.labels(fromJSON: bytes, name: name))
            } else {
                values[field.name] = .text(try Self.caption(fromJSON: bytes, name: name))
            }
        }
        return RawSample(key: name, values: values)
    }

    static func caption(fromJSON bytes: [UInt8], name: String) throws -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              let caption = object["caption"] as? String else {
            throw DataPipelineError.malformedSample(name: name, reason: "json without a string \"caption\" field")
        }
        return caption.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A multi-label sample's classes from its JSON: `"labels": [3, 17]`, non-negative integers.
    static func labels(fromJSON bytes: [UInt8], name: String) throws -> [Int] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              let list = object["labels"] as? [Any] else {
            throw DataPipelineError.malformedSample(name: name, reason: "json without a \"labels\" array")
        }
        return try list.map { item in
            guard let index = item as? Int, index >= 0 else {
                throw DataPipelineError.malformedSample(name: name, reason: "json \"labels\" holds \(item), expected class indices")
            }
            return index
        }
    }

    public func makeOrder(seed: UInt64, epoch: Int, shuffle: Bool) throws -> SampleOrder {
        ShardStreamOrder(source: self, seed: seed, epoch: epoch, shuffle: shuffle)
    }
}

/// The epoch order of a WebDataset: each pass permutes the shard list (seeded by seed, epoch, pass), streams their
/// samples in file order through a shuffle buffer (fill to capacity, then emit a uniformly chosen element and put
/// the next incoming sample in its place; drain randomly at the end of the pass), and passes repeat with new
/// permutations when the epoch is longer than the data. Positions are generated lazily and remembered, so every
/// rank and every resume computes the same sequence (reading only tar headers for shards it does not consume).
final class ShardStreamOrder: SampleOrder, @unchecked Sendable {
    private let source: WebDatasetSource
    private let seed: UInt64, epoch: Int, shuffle: Bool
    private let lock = NSLock()
    private var produced: [Int] = []
    private var pass = -1
    private var shardOrder: [Int] = []
    private var shardCursor = 0
    private var pendingMembers: ArraySlice<Int> = []
    private var buffer: [Int] = []
    private var rng = SplitMix64(seed: 0)
    private var producedThisPass = 0

    init(source: WebDatasetSource, seed: UInt64, epoch: Int, shuffle: Bool) {
        self.source = source
        self.seed = seed
        self.epoch = epoch
        self.shuffle = shuffle
    }

    func sampleID(at position: Int) throws -> Int {
        lock.lock()
        defer { lock.unlock() }
        while produced.count <= position { try produceOne() }
        return produced[position]
    }

    private func startPass() throws {
        if pass >= 0 && producedThisPass == 0 {
            throw DataPipelineError.invalidOption("\(source.shards.first ?? "webdataset"): no usable samples in any shard")
        }
        pass += 1
        producedThisPass = 0
        shardOrder = Array(0..<source.shards.count)
        if shuffle {
            var shardRNG = SplitMix64(mixing: seed, UInt64(epoch), UInt64(pass), RandomStream.shardOrder.rawValue)
            for i in stride(from: shardOrder.count - 1, to: 0, by: -1) { shardOrder.swapAt(i, shardRNG.below(i + 1)) }
        }
        rng = SplitMix64(mixing: seed, UInt64(epoch), UInt64(pass), RandomStream.shuffleBuffer.rawValue)
        shardCursor = 0
        pendingMembers = []
        buffer = []
    }

    /// Next sample id from the current shard stream, or nil at the end of the pass.
    private func nextIncoming() throws -> Int? {
        while pendingMembers.isEmpty {
            guard shardCursor < shardOrder.count else { return nil }
            let shard = shardOrder[shardCursor]
            shardCursor += 1
            let count = try source.usableIndex(shard: shard).members.count
            pendingMembers = ArraySlice((0..<count).map { WebDatasetSource.makeID(shard: shard, member: $0) })
        }
        return pendingMembers.popFirst()
    }

    private func produceOne() throws {
        if pass < 0 { try startPass() }
        while true {
            if !shuffle {
                if let id = try nextIncoming() { emit(id); return }
                try startPass()
                continue
            }
            while buffer.count < source.shuffleBufferSize, let id = try nextIncoming() { buffer.append(id) }
            if buffer.isEmpty { try startPass(); continue }
            let j = rng.below(buffer.count)
            let chosen = buffer[j]
            if let incoming = try nextIncoming() { buffer[j] = incoming } else { buffer.swapAt(j, buffer.count - 1); buffer.removeLast() }
            emit(chosen)
            return
        }
    }

    private func emit(_ id: Int) {
        produced.append(id)
        producedThisPass += 1
    }
}
