/// How ZeRO-1 splits a flat buffer (parameters, gradients, optimizer moments) among ranks.
///
/// Rank r owns one contiguous range, the ranges follow rank order and tile the buffer, and their sizes differ by at
/// most one element. Boundaries fall between elements, not between parameters, so a parameter may be split between
/// two ranks: an element-wise optimizer updates each piece exactly as it would the whole, and balanced ranges keep
/// every rank's memory and update time equal whatever the parameter sizes.
public struct FlatShardLayout: Equatable, Sendable {
    /// `ranges[r]` is the part of the flat buffer that rank r owns.
    public let ranges: [Range<Int>]

    public init(totalCount: Int, ranks: Int) throws {
        guard ranks > 0, totalCount >= 0 else {
            throw DistributedError.invalidArgument("cannot shard \(totalCount) elements over \(ranks) ranks")
        }
        ranges = (0..<ranks).map { Self.range(of: $0, totalCount: totalCount, ranks: ranks) }
    }

    /// The range rank `rank` owns of `totalCount` elements over `ranks` ranks, without building the whole layout.
    public static func range(of rank: Int, totalCount: Int, ranks: Int) -> Range<Int> {
        (totalCount * rank / ranks)..<(totalCount * (rank + 1) / ranks)
    }

    /// Elements each rank owns, in rank order.
    public var counts: [Int] { ranges.map(\.count) }

    /// The largest range's element count.
    public var largestCount: Int { counts.max() ?? 0 }

    /// How many elements of `range` each rank owns; since the ranges follow rank order, these are the consecutive
    /// segments of `range` that a reduce-scatter hands to the ranks.
    public func counts(within range: Range<Int>) -> [Int] {
        ranges.map { owned in max(0, min(owned.upperBound, range.upperBound) - max(owned.lowerBound, range.lowerBound)) }
    }

    /// The part of `range` that `rank` owns (empty when none, placed at the nearest end of the owned range).
    public func piece(of range: Range<Int>, ownedBy rank: Int) -> Range<Int> {
        let owned = ranges[rank]
        let lower = min(max(range.lowerBound, owned.lowerBound), owned.upperBound)
        let upper = max(min(range.upperBound, owned.upperBound), lower)
        return lower..<upper
    }
}
