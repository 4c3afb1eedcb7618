import Foundation
import TensorCore

/// The audio-visual pairs data set (`swiftclip data emoji --av-pairs`): the pairs task of `EmojiPairs` with the name
/// spoken instead of written, over a closed set of emoji (4 groups x 2 subgroups x 2 emoji), so that an audio tower
/// trained from scratch can learn to recognise every name. Train and validation hold the same emoji; validation speaks
/// them with voices training never hears (`EmojiSpeech.heldOutVariants`), so it measures generalisation to new
/// speakers. Each rendition round pairs every emoji's image once per relation, so image and audio alone stay near chance.
public enum EmojiAVPairs {
    public static let groups = 4, subgroupsPerGroup = 2, emojiPerSubgroup = 2

    /// One emoji of the closed set, as drawn by the captions data set.
    struct Member {
        var item: EmojiPairItem
        var png: [UInt8]
        var metadata: EmojiSampleMetadata
    }

    /// The closed set: the first groups (in emoji-test.txt's order) with two subgroups that each have two emoji whose
    /// names carry no qualifier (no skin tone or hair variant, which would repeat a name); their first two such
    /// subgroups and emoji. Errors if the list is too small for the closed set.
    static func closedSet(_ candidates: [Member]) throws -> [Member] {
        let plain = candidates.filter { !$0.metadata.name.contains(":") }
        var chosen: [Member] = []
        var groupOrder: [Int] = []
        for member in plain where !groupOrder.contains(member.item.group) { groupOrder.append(member.item.group) }
        for group in groupOrder {
            let inGroup = plain.filter { $0.item.group == group }
            var subgroupOrder: [Int] = []
            for member in inGroup where !subgroupOrder.contains(member.item.subgroup) { subgroupOrder.append(member.item.subgroup) }
            let full = subgroupOrder.map { subgroup in Array(inGroup.filter { $0.item.subgroup == subgroup }.prefix(emojiPerSubgroup)) }
                .filter { $0.count == emojiPerSubgroup }
            guard full.count >= subgroupsPerGroup else { continue }
            chosen += full.prefix(subgroupsPerGroup).joined()
            if chosen.count == groups * subgroupsPerGroup * emojiPerSubgroup { return chosen }
        }
        throw EmojiDataError.invalidOption("--av-pairs needs \(groups) groups with \(subgroupsPerGroup) subgroups of \(emojiPerSubgroup) plain emoji each; the emoji list has too few")
    }

    /// Writes `rounds` rendition rounds of pairs: round r speaks every name once with rendition r of `split` and pairs
    /// every image once per relation (partners drawn with seed `seed + r`); all rounds shuffled together.
    static func write(_ members: [Member], split: String, rounds: Int, seed: UInt64, speaker: EmojiSpeech,
                      to shards: ShardSequence, encoder: JSONEncoder) throws {
        let heldOut = split == "val"
        let spoken = (0..<rounds).flatMap { round in
            members.map { member in
                (text: member.metadata.name, key: member.item.key,
                 rendition: EmojiSpeech.rendition(key: "\(member.item.key)/av-\(split)/\(round)",
                                                  variants: heldOut ? EmojiSpeech.heldOutVariants : EmojiSpeech.trainingVariants))
            }
        }
        let wavs = try speaker.speakAll(spoken)
        var samples: [(round: Int, pair: EmojiPair)] = []
        for round in 0..<rounds {
            samples += EmojiPairs.make(members.map(\.item), seed: seed &+ UInt64(round)).map { (round, $0) }
        }
        var generator = SplitMix64(seed: seed, stream: 0xA7_5EED)
        EmojiPairs.shuffle(&samples, with: &generator)
        for (round, pair) in samples {
            let image = members[pair.image], text = members[pair.text]
            let spokenIndex = round * members.count + pair.text
            let json = EmojiAVPairMetadata(label: pair.relation.rawValue, relation: pair.relation.className,
                                           voice: spoken[spokenIndex].rendition.voice, round: round,
                                           image: image.metadata, text: text.metadata)
            try shards.add(key: "\(image.item.key)_\(text.item.key)_\(round)", members: [
                ("png", image.png), ("wav", wavs[spokenIndex]), ("txt", Array(text.metadata.name.utf8)),
                ("cls", Array(String(pair.relation.rawValue).utf8)), ("json", Array(try encoder.encode(json))),
            ])
        }
    }
}

/// Metadata written as each audio-visual pair's `.json` member.
struct EmojiAVPairMetadata: Codable {
    var label: Int
    var relation: String
    var voice: String
    var round: Int
    var image: EmojiSampleMetadata
    var text: EmojiSampleMetadata
}
