import Foundation

/// Metadata written as each pair sample's `.json` member: both emoji and their relation.
struct EmojiPairMetadata: Codable {
    var label: Int
    var relation: String
    var image: EmojiSampleMetadata
    var text: EmojiSampleMetadata
}

/// One split's rendered emoji, collected while the captions data set is written, then paired and written as shards
/// whose samples hold `.png` (the image emoji), `.txt` (the name emoji's name), `.cls` (the relation) and `.json`, and
/// with speech `.wav` (the name emoji's name spoken).
struct EmojiPairSources {
    private(set) var items: [EmojiPairItem] = []
    private var pngs: [[UInt8]] = []
    private var metadata: [EmojiSampleMetadata] = []
    private var wavs: [[UInt8]?] = []

    mutating func add(_ item: EmojiPairItem, png: [UInt8], metadata sample: EmojiSampleMetadata, wav: [UInt8]? = nil) {
        items.append(item)
        wavs.append(wav)
        pngs.append(png)
        metadata.append(sample)
    }

    func write(to shards: ShardSequence, seed: UInt64, encoder: JSONEncoder) throws {
        for pair in EmojiPairs.make(items, seed: seed) {
            let image = metadata[pair.image], text = metadata[pair.text]
            let json = EmojiPairMetadata(label: pair.relation.rawValue, relation: pair.relation.className, image: image, text: text)
            try shards.add(key: items[pair.image].key + "_" + items[pair.text].key, members: [
                ("png", pngs[pair.image]), ("txt", Array(text.name.utf8)), ("cls", Array(String(pair.relation.rawValue).utf8)),
                ("json", Array(try encoder.encode(json))),
            ] + (wavs[pair.text].map { [("wav", $0)] } ?? []))
        }
    }
}
