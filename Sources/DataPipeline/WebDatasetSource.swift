import Foundation

/// WebDataset tar shards: samples are consecutive members sharing a key (path up to the first dot of the basename),
/// with an image (`jpg|jpeg|png|webp`) and a caption (`txt`, or `json` with a "caption" string).
public final class WebDatasetSource: SampleSource, @unchecked Sendable {
    /// One sample's members inside a shard.
    struct Member: Sendable {
        var key: String
        var imageOffset: Int, imageSize: Int
        var captionOffset: Int, captionSize: Int
        var captionIsJSON: Bool
    }

    struct ShardIndex: Sendable {
        var members: [Member]
        var skipped: Int
    }

    public let shards: [String]
    /// Shuffle-buffer capacity used by shuffled epoch orders (OpenCLIP uses 5000 for samples).
    public let shuffleBufferSize: Int
    let warnings: WarningLog
    private let lock = NSLock()
    private var indexes: [Int: ShardIndex] = [:]

    static let imageExtensions = ["jpg", "jpeg", "png", "webp"]

    /// - Parameter shardSpec: brace pattern(s) joined by `::`, e.g. `/data/train-{000000..000123}.tar`.
    public init(shardSpec: String, shuffleBufferSize: Int = 5000, warnings: WarningLog = WarningLog()) throws {
        shards = try BraceExpansion.expandSources(shardSpec)
        guard !shards.isEmpty else { throw DataPipelineError.invalidOption("no shards in '\(shardSpec)'") }
        self.shuffleBufferSize = max(1, shuffleBufferSize)
        self.warnings = warnings
    }

    public var summary: String { "webdataset: \(shards.count) shard(s)" }

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
        (0..<shards.count).reduce(0) { $0 + index(shard: $1).members.count }
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

    private func buildIndex(shard i: Int) -> ShardIndex {
        let path = shards[i]
        let scan: TarScan
        do { scan = try TarReader.scan(path: path) } catch {
            warnings.warn("\(error); shard ignored")
            return ShardIndex(members: [], skipped: 0)
        }
        var members: [Member] = []
        var skipped = 0
        var currentKey: String? = nil
        var image: TarEntry? = nil, caption: TarEntry? = nil, captionIsJSON = false
        func flush() {
            guard let key = currentKey else { return }
            if let image, let caption {
                members.append(Member(key: key, imageOffset: image.dataOffset, imageSize: image.size,
                                      captionOffset: caption.dataOffset, captionSize: caption.size, captionIsJSON: captionIsJSON))
            } else {
                skipped += 1
            }
        }
        for entry in scan.entries {
            let (key, ext) = Self.splitKey(entry.name)
            if key != currentKey {
                flush()
                currentKey = key
                image = nil; caption = nil; captionIsJSON = false
            }
            if Self.imageExtensions.contains(ext) {
                if image == nil { image = entry }
            } else if ext == "txt" {
                caption = entry; captionIsJSON = false
            } else if ext == "json", caption == nil || captionIsJSON {
                caption = entry; captionIsJSON = true
            }
        }
        if let damage = scan.damage {
            // A complete sample just before the damage is kept; the damaged (incomplete) sample counts as one skip.
            if image != nil && caption != nil { flush() }
            skipped += 1
            warnings.warn("\(path): \(damage); using \(members.count) sample(s) before the damage")
        } else {
            flush()
        }
        return ShardIndex(members: members, skipped: skipped)
    }

    /// WebDataset's key rule: directory + basename up to its first dot; the extension is the rest, lower-cased.
    static func splitKey(_ name: String) -> (key: String, ext: String) {
        let slash = name.lastIndex(of: "/")
        let baseStart = slash.map { name.index(after: $0) } ?? name.startIndex
        guard let dot = name[baseStart...].firstIndex(of: ".") else { return (name, "") }
        return (String(name[..<dot]), name[name.index(after: dot)...].lowercased())
    }

    static func makeID(shard: Int, member: Int) -> Int { shard << 32 | member }

    public func load(id: Int) throws -> RawSample {
        let shard = id >> 32, memberIndex = id & 0xFFFF_FFFF
        guard shard < shards.count else { throw DataPipelineError.invalidOption("sample id \(id) out of range") }
        let members = index(shard: shard).members
        guard memberIndex < members.count else { throw DataPipelineError.invalidOption("sample id \(id) out of range") }
        let member = members[memberIndex]
        let path = shards[shard]
        let file = try RandomAccessFile(path: path)
        let imageBytes = try file.readBytes(count: member.imageSize, at: member.imageOffset)
        let captionBytes = try file.readBytes(count: member.captionSize, at: member.captionOffset)
        let name = URL(fileURLWithPath: path).lastPathComponent + ":" + member.key
        let caption = try Self.caption(from: captionBytes, isJSON: member.captionIsJSON, name: name)
        return RawSample(image: .encoded(imageBytes), caption: caption, key: name)
    }

    static func caption(from bytes: [UInt8], isJSON: Bool, name: String) throws -> String {
        if !isJSON { return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              let caption = object["caption"] as? String else {
            throw DataPipelineError.malformedSample(name: name, reason: "json without a string \"caption\" field")
        }
        return caption.trimmingCharacters(in: .whitespacesAndNewlines)
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
    private func nextIncoming() -> Int? {
        while pendingMembers.isEmpty {
            guard shardCursor < shardOrder.count else { return nil }
            let shard = shardOrder[shardCursor]
            shardCursor += 1
            let count = source.index(shard: shard).members.count
            pendingMembers = ArraySlice((0..<count).map { WebDatasetSource.makeID(shard: shard, member: $0) })
        }
        return pendingMembers.popFirst()
    }

    private func produceOne() throws {
        if pass < 0 { try startPass() }
        while true {
            if !shuffle {
                if let id = nextIncoming() { emit(id); return }
                try startPass()
                continue
            }
            while buffer.count < source.shuffleBufferSize, let id = nextIncoming() { buffer.append(id) }
            if buffer.isEmpty { try startPass(); continue }
            let j = rng.below(buffer.count)
            let chosen = buffer[j]
            if let incoming = nextIncoming() { buffer[j] = incoming } else { buffer.swapAt(j, buffer.count - 1); buffer.removeLast() }
            emit(chosen)
            return
        }
    }

    private func emit(_ id: Int) {
        produced.append(id)
        producedThisPass += 1
    }
}
