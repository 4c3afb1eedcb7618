import Foundation

/// Trains a byte-level BPE vocabulary on captions, for models whose `vocab_size` is too small for CLIP's 49,408.
///
/// Captions are cleaned and pre-tokenised like OpenCLIP; distinct pieces are counted; then the most frequent
/// adjacent symbol pair (ties: the pair with the smaller ids) is merged, repeatedly, until the vocabulary is full
/// or no pair occurs twice. Pair counts are updated incrementally, so each merge costs only the words it touches.
public enum BPETrainer {
    /// Pairs seen fewer times than this are not worth an id.
    public static let minimumPairFrequency = 2

    /// Trains a tokenizer with exactly `vocabularySize` ids (some may stay unused on a small corpus).
    /// Throws if `vocabularySize` cannot even hold the bytes and special tokens.
    public static func train(corpus: [String], vocabularySize: Int) throws -> TrainedBPETokenizer {
        let wordCounts = countPieces(corpus)
        // Words in byte order so that training does not depend on dictionary iteration order.
        let words = wordCounts.keys.sorted { $0.lexicographicallyPrecedes($1) }
        let finalBytes = TrainedBPETokenizer.sortedInVocabularyOrder(words.compactMap(\.last))
        let minimum = TrainedBPETokenizer.minimumVocabularySize(wordFinalByteCount: finalBytes.count)
        guard vocabularySize >= minimum else {
            throw TokenizerError.invalidTrainingSetting(
                "vocabulary size \(vocabularySize) is below the \(minimum) ids needed for padding, 256 bytes, "
                    + "\(finalBytes.count) word-final bytes and the start/end tokens")
        }
        guard vocabularySize <= Int(Int32.max) else {
            throw TokenizerError.invalidTrainingSetting("vocabulary size \(vocabularySize) does not fit 32-bit ids")
        }
        var state = PairStatistics(words: words, counts: words.map { wordCounts[$0]! }, finalBytes: finalBytes)
        let mergeBudget = vocabularySize - minimum
        var merges: [(String, String)] = []
        while merges.count < mergeBudget, let pair = state.mostFrequentPair(minimumCount: minimumPairFrequency) {
            let newID = Int32(state.symbolText.count)
            merges.append((state.symbolText[Int(pair.left)], state.symbolText[Int(pair.right)]))
            state.merge(pair, into: newID)
        }
        return try TrainedBPETokenizer(vocabularySize: vocabularySize, wordFinalBytes: finalBytes,
                                       merges: merges, source: "trained tokenizer")
    }

    /// Occurrences of each pre-tokenised piece (as UTF-8) in the cleaned corpus; special-token text is skipped.
    /// Large corpora are cleaned in parallel chunks whose counts are then summed (the result does not depend on it).
    static func countPieces(_ corpus: [String]) -> [[UInt8]: Int] {
        let workers = corpus.count >= 4096 ? min(ProcessInfo.processInfo.activeProcessorCount, 16) : 1
        let chunk = (corpus.count + workers - 1) / workers
        var partial = [[PieceKey: Int]](repeating: [:], count: workers)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var counts: [PieceKey: Int] = [:]
            for caption in corpus[min(corpus.count, worker * chunk)..<min(corpus.count, (worker + 1) * chunk)] {
                let text = CLIPTextCleaner.cleanScalars(caption)
                CLIPPreTokenizer.forEachPiece(in: text) { piece in
                    if case .text(let range) = piece {
                        var bytes: [UInt8] = []
                        for scalar in text[range] { bytes.append(contentsOf: UTF8.encode(scalar)!) }
                        counts[PieceKey(bytes: bytes), default: 0] += 1
                    }
                    return true
                }
            }
            lock.lock()
            partial[worker] = counts
            lock.unlock()
        }
        var total: [[UInt8]: Int] = [:]
        for counts in partial {
            for (key, count) in counts { total[key.bytes, default: 0] += count }
        }
        return total
    }
}

/// Symbol sequences of the distinct corpus words with incrementally maintained pair counts.
struct PairStatistics {
    struct Pair: Hashable {
        var left: Int32
        var right: Int32
    }

    private(set) var symbolText: [String]
    private var words: [[Int32]]
    private let wordCounts: [Int]
    private var pairCounts: [Pair: Int] = [:]
    /// Words that contained the pair at some point; entries can be stale and are re-checked when merging.
    private var pairWords: [Pair: [Int32]] = [:]
    private var heap = MinHeap<PairPriority>()

    init(words: [[UInt8]], counts: [Int], finalBytes: [UInt8]) {
        // Same id layout as TrainedBPETokenizer: padding, bytes, word-final bytes, merges.
        let order = ByteLevelMapping.vocabularyOrder
        var innerID = [Int32](repeating: 0, count: 256)
        var finalID = [Int32](repeating: 0, count: 256)
        symbolText = [""]
        for byte in order {
            innerID[Int(byte)] = Int32(symbolText.count)
            symbolText.append(String(ByteLevelMapping.characterForByte[Int(byte)]))
        }
        for byte in finalBytes {
            finalID[Int(byte)] = Int32(symbolText.count)
            symbolText.append(String(ByteLevelMapping.characterForByte[Int(byte)]) + BytePairModel.endOfWordMarker)
        }
        self.words = words.map { bytes in
            bytes.enumerated().map { index, byte in index == bytes.count - 1 ? finalID[Int(byte)] : innerID[Int(byte)] }
        }
        self.wordCounts = counts
        for (wordIndex, word) in self.words.enumerated() {
            for (left, right) in zip(word, word.dropFirst()) {
                let pair = Pair(left: left, right: right)
                pairCounts[pair, default: 0] += counts[wordIndex]
                if pairWords[pair]?.last != Int32(wordIndex) { pairWords[pair, default: []].append(Int32(wordIndex)) }
            }
        }
        for (pair, count) in pairCounts { heap.push(PairPriority(count: count, pair: pair)) }
    }

    /// The pair with the highest current count (ties: smaller left id, then smaller right id).
    mutating func mostFrequentPair(minimumCount: Int) -> Pair? {
        while let entry = heap.pop() {
            let (count, pair) = (entry.count, entry.pair)
            guard pairCounts[pair] == count else { continue }  // outdated heap entry
            return count >= minimumCount ? pair : nil
        }
        return nil
    }

    /// Replaces every non-overlapping occurrence (left to right) of `pair` by `newID`, updating the counts.
    mutating func merge(_ pair: Pair, into newID: Int32) {
        symbolText.append(symbolText[Int(pair.left)] + symbolText[Int(pair.right)])
        var changed: Set<Pair> = []
        for wordIndex in pairWords.removeValue(forKey: pair) ?? [] {
            let word = words[Int(wordIndex)]
            var merged: [Int32] = []
            merged.reserveCapacity(word.count)
            var index = 0
            while index < word.count {
                if index + 1 < word.count, word[index] == pair.left, word[index + 1] == pair.right {
                    merged.append(newID)
                    index += 2
                } else {
                    merged.append(word[index])
                    index += 1
                }
            }
            guard merged.count != word.count else { continue }
            let count = wordCounts[Int(wordIndex)]
            for (left, right) in zip(word, word.dropFirst()) {
                let old = Pair(left: left, right: right)
                pairCounts[old, default: 0] -= count
                changed.insert(old)
            }
            for (left, right) in zip(merged, merged.dropFirst()) {
                let new = Pair(left: left, right: right)
                pairCounts[new, default: 0] += count
                changed.insert(new)
                if new.left == newID || new.right == newID, pairWords[new]?.last != wordIndex {
                    pairWords[new, default: []].append(wordIndex)
                }
            }
            words[Int(wordIndex)] = merged
        }
        pairCounts[pair] = nil
        for changedPair in changed where changedPair != pair {
            if let count = pairCounts[changedPair], count > 0 {
                heap.push(PairPriority(count: count, pair: changedPair))
            } else {
                pairCounts[changedPair] = nil
            }
        }
    }
}

/// A pair's place in the trainer's heap: higher counts first, ties to the smaller pair ids (deterministic training).
struct PairPriority: Comparable {
    let count: Int
    let pair: PairStatistics.Pair

    /// Whether `a` pops before `b`.
    static func < (a: PairPriority, b: PairPriority) -> Bool {
        if a.count != b.count { return a.count > b.count }
        if a.pair.left != b.pair.left { return a.pair.left < b.pair.left }
        return a.pair.right < b.pair.right
    }
}
