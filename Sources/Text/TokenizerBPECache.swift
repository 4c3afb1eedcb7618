import Foundation

/// A bounded, thread-safe memo of BPE results per pre-tokenised piece.
///
/// Caption vocabularies repeat heavily, so most pieces hit. When full the memo is simply emptied: cheaper
/// than tracking recency, and it bounds memory on corpora with unbounded vocabularies (URLs, numbers, noise).
final class BPEPieceCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [PieceKey: [Int32]] = [:]
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func value(for piece: [UInt8]) -> [Int32]? {
        lock.lock()
        defer { lock.unlock() }
        return entries[PieceKey(bytes: piece)]
    }

    func store(_ ids: [Int32], for piece: [UInt8]) {
        lock.lock()
        defer { lock.unlock() }
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[PieceKey(bytes: piece)] = ids
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return entries.count
    }
}

/// Piece bytes as a dictionary key hashed in one call over the buffer (an array hashes element by element).
struct PieceKey: Hashable {
    let bytes: [UInt8]

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}
