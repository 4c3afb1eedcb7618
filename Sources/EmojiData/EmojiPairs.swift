import TensorCore

/// One emoji as the pairs data set sees it: where it sits in Unicode's grouping.
public struct EmojiPairItem: Sendable, Equatable {
    public var key: String
    public var group: Int
    public var subgroup: Int

    public init(key: String, group: Int, subgroup: Int) {
        self.key = key
        self.group = group
        self.subgroup = subgroup
    }
}

/// The relation between a pair's image emoji and name emoji: the pairs data set's label.
public enum EmojiRelation: Int, CaseIterable, Sendable {
    case sameEmoji = 0, sameSubgroup, sameGroup, differentGroup

    public var className: String {
        switch self {
        case .sameEmoji: return "same emoji"
        case .sameSubgroup: return "same subgroup"
        case .sameGroup: return "same group"
        case .differentGroup: return "different group"
        }
    }

    /// The relation of two emoji; "same subgroup" and "same group" mean another emoji there.
    public static func of(_ a: EmojiPairItem, _ b: EmojiPairItem) -> EmojiRelation {
        if a.key == b.key { return .sameEmoji }
        if a.subgroup == b.subgroup { return .sameSubgroup }
        return a.group == b.group ? .sameGroup : .differentGroup
    }
}

/// One sample of the pairs data set: the image of `items[image]` with the name of `items[text]`.
public struct EmojiPair: Sendable, Equatable {
    public var image: Int
    public var text: Int
    public var relation: EmojiRelation
}

/// Pairs an emoji's image with a name so that neither alone determines the label: every emoji that can take part is the
/// image of exactly one pair of each relation (its own name; another name of its subgroup; a name of another subgroup
/// of its group; a name of another group, each drawn uniformly), so the image says nothing about the class and the
/// classes are balanced; a name alone tells a little, as a large group's names are less often another group's partner.
/// An emoji whose subgroup or group has no other member in the split, or that has no other group, takes no part.
/// The order is shuffled; the same items and seed always give the same pairs.
public enum EmojiPairs {
    public static func make(_ items: [EmojiPairItem], seed: UInt64) -> [EmojiPair] {
        var generator = SplitMix64(seed: seed, stream: 0x9A12_5EED)
        func pick(_ candidates: [Int]) -> Int { candidates[Int(generator.next() % UInt64(candidates.count))] }
        let bySubgroup = Dictionary(grouping: items.indices, by: { items[$0].subgroup })
        let byGroup = Dictionary(grouping: items.indices, by: { items[$0].group })
        let outsideGroup = byGroup.mapValues { members in items.indices.filter { items[$0].group != items[members[0]].group } }
        var pairs: [EmojiPair] = []
        for i in items.indices {
            let item = items[i]
            let subgroupMates = bySubgroup[item.subgroup]!.filter { $0 != i }
            let groupMates = byGroup[item.group]!.filter { items[$0].subgroup != item.subgroup }
            let others = outsideGroup[item.group]!
            guard !subgroupMates.isEmpty, !groupMates.isEmpty, !others.isEmpty else { continue }
            pairs.append(EmojiPair(image: i, text: i, relation: .sameEmoji))
            pairs.append(EmojiPair(image: i, text: pick(subgroupMates), relation: .sameSubgroup))
            pairs.append(EmojiPair(image: i, text: pick(groupMates), relation: .sameGroup))
            pairs.append(EmojiPair(image: i, text: pick(others), relation: .differentGroup))
        }
        shuffle(&pairs, with: &generator)
        return pairs
    }

    /// Fisher-Yates with the generator's own draws (not the standard library's shuffle, whose algorithm may change).
    static func shuffle<Element>(_ array: inout [Element], with generator: inout SplitMix64) {
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            array.swapAt(i, Int(generator.next() % UInt64(i + 1)))
        }
    }
}
