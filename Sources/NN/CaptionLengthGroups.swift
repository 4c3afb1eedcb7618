/// A batch of captions split into groups by length, so that a causal text tower runs each group only as far as its
/// longest caption: a caption's positions after its end-of-text token feed nothing the pooled token reads, so cutting
/// them off leaves every feature and gradient as it is.
///
/// Groups are runs of the captions sorted by length, chosen to minimise the positions computed plus a fixed cost per
/// group (`overheadPositions`: a group's own passes through the blocks, whose products get smaller as groups multiply).
public struct CaptionLengthGroups: Sendable, Equatable {
    public struct Group: Sendable, Equatable {
        /// The batch rows of the group, shortest caption first.
        public let rows: [Int]
        /// The positions the group runs: its longest caption's length.
        public let length: Int

        public init(rows: [Int], length: Int) { (self.rows, self.length) = (rows, length) }
    }

    public let groups: [Group]

    /// What one more group must save, in positions computed, to be worth its passes through the blocks.
    public static let overheadPositions = 64

    /// Groups of the captions whose lengths (positions up to and including each end-of-text token) are `lengths`.
    public init(lengths: [Int]) {
        precondition(lengths.allSatisfy { $0 > 0 }, "caption length groups: lengths \(lengths) must be positive")
        let order = lengths.indices.sorted { (lengths[$0], $0) < (lengths[$1], $1) }
        // Group boundaries fall between distinct lengths, so the dynamic programme runs over those (at most the
        // context length of them), not over the batch.
        var distinct: [(length: Int, end: Int)] = []   // each distinct length and where its run in `order` ends
        for (position, row) in order.enumerated() {
            if distinct.last?.length == lengths[row] { distinct[distinct.count - 1].end = position + 1 }
            else { distinct.append((lengths[row], position + 1)) }
        }
        // best[i]: the least cost of grouping the captions of the first i distinct lengths; start[i]: where its last group starts.
        var best = [Int](repeating: 0, count: distinct.count + 1), start = [Int](repeating: 0, count: distinct.count + 1)
        for i in stride(from: 1, through: distinct.count, by: 1) {
            best[i] = Int.max
            for j in 0..<i {
                let captions = distinct[i - 1].end - (j == 0 ? 0 : distinct[j - 1].end)
                let cost = best[j] + captions * distinct[i - 1].length + Self.overheadPositions
                if cost < best[i] { (best[i], start[i]) = (cost, j) }
            }
        }
        var groups: [Group] = [], i = distinct.count
        while i > 0 {
            let j = start[i], first = j == 0 ? 0 : distinct[j - 1].end
            groups.append(Group(rows: Array(order[first..<distinct[i - 1].end]), length: distinct[i - 1].length))
            i = j
        }
        self.groups = groups.reversed()
    }

    /// Positions the tower computes for the whole batch (each group's captions times its length).
    public var computedPositions: Int { groups.reduce(0) { $0 + $1.rows.count * $1.length } }
}
