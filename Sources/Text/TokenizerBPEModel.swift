/// Byte-pair encoding tables and the merge loop shared by the CLIP tokenizer and the project-trained one.
///
/// Symbols are token ids. A piece starts as one symbol per UTF-8 byte, the last one in its word-final form
/// (`</w>`); then the adjacent pair with the lowest merge rank is merged everywhere, left to right, until no
/// ranked pair is left. The merge loop uses a heap of (rank, position), which gives the same result as
/// OpenCLIP's rescan-per-merge loop because a merge only ever creates pairs of higher rank (checked at load),
/// in O(n log n) instead of O(n^2) for long pieces.
final class BytePairModel: Sendable {
    /// Id of each byte inside a word / at the end of a word.
    let innerByteID: [Int32]
    let finalByteID: [Int32]
    /// Merge rank by pair key (left id << 32 | right id); merge `rank` creates id `firstMergeID + rank`.
    let mergeRanks: [UInt64: Int32]
    let firstMergeID: Int32
    let startOfTextID: Int32
    let endOfTextID: Int32
    /// Text of every id (mapped bytes, word-final ones ending in `</w>`), for decoding and saving.
    let symbolText: [String]
    let cache: BPEPieceCache

    static let endOfWordMarker = "</w>"

    /// Builds the tables from base symbols and merges written in the byte-level mapping.
    /// - Parameters:
    ///   - baseSymbols: text of ids `0..<baseSymbols.count` (the empty string marks an id with no text, e.g. padding).
    ///   - merges: pairs of symbol texts in rank order; merge `k` gets id `baseSymbols.count + k`.
    ///   - fallbackFinalToInner: when a byte has no word-final symbol, use its inner one (trained vocabularies).
    init(baseSymbols: [String], merges: [(String, String)], startOfTextID: Int32, endOfTextID: Int32,
         fallbackFinalToInner: Bool, source: String, cacheCapacity: Int = 200_000) throws {
        var idForText: [String: Int32] = [:]
        idForText.reserveCapacity(baseSymbols.count + merges.count)
        for (id, text) in baseSymbols.enumerated() where !text.isEmpty {
            guard idForText[text] == nil else {
                throw TokenizerError.malformedFile(path: source, reason: "symbol '\(text)' is listed twice")
            }
            idForText[text] = Int32(id)
        }
        var inner = [Int32](repeating: -1, count: 256)
        var final = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 {
            let character = String(ByteLevelMapping.characterForByte[byte])
            inner[byte] = idForText[character] ?? -1
            final[byte] = idForText[character + Self.endOfWordMarker] ?? (fallbackFinalToInner ? inner[byte] : -1)
            guard inner[byte] >= 0, final[byte] >= 0 else {
                throw TokenizerError.malformedFile(path: source, reason: "no symbol for byte \(byte)")
            }
        }
        // Rank at which each symbol came into existence, to verify merges only build on earlier symbols.
        var symbolText = baseSymbols
        symbolText.reserveCapacity(baseSymbols.count + merges.count)
        var ranks: [UInt64: Int32] = [:]
        ranks.reserveCapacity(merges.count)
        let firstMergeID = Int32(baseSymbols.count)
        for (rank, merge) in merges.enumerated() {
            let (left, right) = merge
            guard let leftID = idForText[left], let rightID = idForText[right] else {
                throw TokenizerError.malformedFile(
                    path: source, reason: "merge \(rank + 1) ('\(left) \(right)') uses a symbol no earlier merge creates")
            }
            guard !left.hasSuffix(Self.endOfWordMarker) else {
                throw TokenizerError.malformedFile(path: source, reason: "merge \(rank + 1) ('\(left) \(right)') continues past a word end")
            }
            let merged = left + right
            guard idForText[merged] == nil else {
                throw TokenizerError.malformedFile(path: source, reason: "merge \(rank + 1) creates '\(merged)' a second time")
            }
            let id = firstMergeID + Int32(rank)
            idForText[merged] = id
            symbolText.append(merged)
            ranks[Self.pairKey(leftID, rightID)] = Int32(rank)
        }
        self.innerByteID = inner
        self.finalByteID = final
        self.mergeRanks = ranks
        self.firstMergeID = firstMergeID
        self.startOfTextID = startOfTextID
        self.endOfTextID = endOfTextID
        self.symbolText = symbolText
        self.cache = BPEPieceCache(capacity: cacheCapacity)
    }

    @inline(__always) static func pairKey(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// Ids of one pre-tokenised piece (its UTF-8 bytes), memoised.
    func encodePiece(_ bytes: [UInt8]) -> [Int32] {
        if let cached = cache.value(for: bytes) { return cached }
        let ids = mergePiece(bytes)
        cache.store(ids, for: bytes)
        return ids
    }

    /// The merge loop without the memo.
    func mergePiece(_ bytes: [UInt8]) -> [Int32] {
        let count = bytes.count
        if count == 0 { return [] }
        if count == 1 { return [finalByteID[Int(bytes[0])]] }
        var symbols = [Int32](repeating: 0, count: count)
        var next = [Int32](repeating: -1, count: count)
        var previous = [Int32](repeating: -1, count: count)
        var alive = [Bool](repeating: true, count: count)
        for index in 0..<count {
            symbols[index] = index == count - 1 ? finalByteID[Int(bytes[index])] : innerByteID[Int(bytes[index])]
            next[index] = index + 1 < count ? Int32(index + 1) : -1
            previous[index] = Int32(index - 1)
        }
        var heap = MinHeap<UInt64>()  // packed (rank, position) keys
        for index in 0..<(count - 1) {
            if let rank = mergeRanks[Self.pairKey(symbols[index], symbols[index + 1])] {
                heap.push(UInt64(UInt32(rank)) << 32 | UInt64(index))
            }
        }
        while let entry = heap.pop() {
            let rank = Int32(entry >> 32), left = Int(entry & 0xFFFF_FFFF)
            guard alive[left], next[left] >= 0 else { continue }
            let right = Int(next[left])
            // A stale entry: one side was merged into something else since it was pushed.
            guard mergeRanks[Self.pairKey(symbols[left], symbols[right])] == rank else { continue }
            symbols[left] = firstMergeID + rank
            alive[right] = false
            next[left] = next[right]
            if next[right] >= 0 { previous[Int(next[right])] = Int32(left) }
            if previous[left] >= 0, let newRank = mergeRanks[Self.pairKey(symbols[Int(previous[left])], symbols[left])] {
                heap.push(UInt64(UInt32(newRank)) << 32 | UInt64(previous[left]))
            }
            if next[left] >= 0, let newRank = mergeRanks[Self.pairKey(symbols[left], symbols[Int(next[left])])] {
                heap.push(UInt64(UInt32(newRank)) << 32 | UInt64(left))
            }
        }
        var ids: [Int32] = []
        var index = 0
        while index >= 0 {
            ids.append(symbols[index])
            index = Int(next[index])
        }
        return ids
    }

    /// Content ids of cleaned text (no start/end framing), stopping once `limit` ids are collected.
    func contentIDs(cleaned text: [Unicode.Scalar], limit: Int = .max) -> [Int32] {
        var ids: [Int32] = []
        guard limit > 0 else { return ids }
        var bytes: [UInt8] = []
        CLIPPreTokenizer.forEachPiece(in: text) { piece in
            switch piece {
            case .startOfText: ids.append(startOfTextID)
            case .endOfText: ids.append(endOfTextID)
            case .text(let range):
                bytes.removeAll(keepingCapacity: true)
                for scalar in text[range] { appendUTF8(scalar, to: &bytes) }
                ids.append(contentsOf: encodePiece(bytes))
            }
            return ids.count < limit
        }
        if ids.count > limit { ids.removeLast(ids.count - limit) }
        return ids
    }

    @inline(__always) private func appendUTF8(_ scalar: Unicode.Scalar, to bytes: inout [UInt8]) {
        let value = scalar.value
        if value < 0x80 {
            bytes.append(UInt8(value))
        } else {
            bytes.append(contentsOf: UTF8.encode(scalar)!)
        }
    }

    /// OpenCLIP's framing: start, the first `contextLength - 2` content ids, end, zero padding.
    func frame(content: [Int32], contextLength: Int, padded: Bool) -> [Int32] {
        precondition(contextLength >= 1, "context length must be positive")
        // OpenCLIP keeps the first `contextLength` ids and overwrites the last with the end token.
        if contextLength == 1 { return [endOfTextID] }
        var row: [Int32] = []
        row.reserveCapacity(padded ? contextLength : content.count + 2)
        row.append(startOfTextID)
        row.append(contentsOf: content.prefix(contextLength - 2))
        row.append(endOfTextID)
        if padded { row.append(contentsOf: repeatElement(0, count: contextLength - row.count)) }
        return row
    }

    /// OpenCLIP's `decode`: symbol texts joined, mapped bytes turned back into UTF-8, `</w>` read as a space.
    func decode(_ ids: [Int32]) -> String {
        var bytes: [UInt8] = []
        for id in ids where id >= 0 && Int(id) < symbolText.count {
            var text = Substring(symbolText[Int(id)])
            let isWordEnd = text.hasSuffix(Self.endOfWordMarker)
            if isWordEnd { text = text.dropLast(Self.endOfWordMarker.count) }
            bytes.append(contentsOf: ByteLevelMapping.bytes(for: text) ?? [])
            if isWordEnd { bytes.append(0x20) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
