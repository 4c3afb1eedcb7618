import Audio
import DataPipeline
import Foundation
import XCTest
@testable import EmojiData

/// The audio-visual pairs: the closed set's choice, and shards whose validation voices training never hears.
final class EmojiAVPairsTests: XCTestCase {
    static func member(_ name: String, group: Int, subgroup: Int) -> EmojiAVPairs.Member {
        let metadata = EmojiSampleMetadata(name: name, emoji: "", codePoints: [], group: "g\(group)", groupIndex: group,
                                           subgroup: "s\(subgroup)", subgroupIndex: subgroup, version: "1.0", keywords: [], captions: [name])
        return .init(item: EmojiPairItem(key: name.replacingOccurrences(of: " ", with: "-"), group: group, subgroup: subgroup),
                     png: Array(name.utf8), metadata: metadata)
    }

    /// Group 0 has only one full subgroup once qualified names are left out; groups 1-5 have two or more.
    static let candidates: [EmojiAVPairs.Member] = [
        member("waving hand", group: 0, subgroup: 0), member("waving hand: light skin tone", group: 0, subgroup: 0),
        member("ok hand", group: 0, subgroup: 1), member("pinched fingers", group: 0, subgroup: 1),
    ] + (1...5).flatMap { group in
        (0..<3).flatMap { sub in (0..<3).map { member("emoji \(group) \(sub) \($0)", group: group, subgroup: group * 10 + sub) } }
    }

    func testClosedSetTakesTheFirstFullGroupsSubgroupsAndPlainNames() throws {
        let chosen = try EmojiAVPairs.closedSet(Self.candidates)
        XCTAssertEqual(chosen.count, 16)
        XCTAssertEqual(chosen.map(\.metadata.name), (1...4).flatMap { group in
            (0..<2).flatMap { sub in (0..<2).map { "emoji \(group) \(sub) \($0)" } }
        })
        XCTAssertThrowsError(try EmojiAVPairs.closedSet(Array(Self.candidates.prefix(4 + 9 * 3)))) {
            XCTAssertTrue("\($0)".contains("--av-pairs needs 4 groups"), "\($0)")
        }
    }

    func testEveryRoundPairsEachImageOncePerRelationAndValidationVoicesAreHeldOut() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/espeak-ng") else { throw XCTSkip("espeak-ng is not installed (launch/setup installs it)") }
        let members = try EmojiAVPairs.closedSet(Self.candidates)
        let root = NSTemporaryDirectory() + "emoji-av-\(getpid())"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        for (split, rounds) in [("train", 2), ("val", 1)] {
            let shards = ShardSequence(directory: root, prefix: split, perShard: 1000)
            try EmojiAVPairs.write(members, split: split, rounds: rounds, seed: 3, speaker: try EmojiSpeech(), to: shards, encoder: JSONEncoder())
            _ = try shards.finish()
            let samples = try Self.samples(inTar: root + "/\(split)-000.tar")
            XCTAssertEqual(samples.count, rounds * 16 * 4)
            var labelsOfImageInRound: [String: [Int]] = [:]
            var voices = Set<String>()
            for (key, members) in samples {
                let parts = key.split(separator: "_").map(String.init)  // image_text_round
                let image = try XCTUnwrap(members["png"]), text = try XCTUnwrap(members["txt"])
                let imageItem = try XCTUnwrap(Self.candidates.first { $0.png == image }?.item)
                let textItem = try XCTUnwrap(Self.candidates.first { $0.metadata.name == String(decoding: text, as: UTF8.self) }?.item)
                XCTAssertEqual([imageItem.key, textItem.key], Array(parts.prefix(2)))
                let label = try XCTUnwrap(Int(String(decoding: try XCTUnwrap(members["cls"]), as: UTF8.self)))
                XCTAssertEqual(label, EmojiRelation.of(imageItem, textItem).rawValue, key)
                labelsOfImageInRound[parts[0] + "_" + parts[2], default: []].append(label)
                voices.insert(try JSONDecoder().decode(EmojiAVPairMetadata.self, from: Data(try XCTUnwrap(members["json"]))).voice)
                XCTAssertEqual(try SoundFileDecoder.decode(Data(try XCTUnwrap(members["wav"])), name: key).sampleRate, 16000)
            }
            XCTAssertEqual(labelsOfImageInRound.count, rounds * 16)
            for (_, labels) in labelsOfImageInRound { XCTAssertEqual(labels.sorted(), [0, 1, 2, 3]) }
            let variants = Set(voices.map { String($0.split(separator: "+")[1]) })
            if split == "val" { XCTAssertTrue(variants.isSubset(of: EmojiSpeech.heldOutVariants), "\(variants)") }
            else { XCTAssertTrue(variants.isDisjoint(with: EmojiSpeech.heldOutVariants), "\(variants)") }
        }
    }

    /// Every sample of a tar shard: key -> extension -> bytes.
    static func samples(inTar path: String) throws -> [String: [String: [UInt8]]] {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var samples: [String: [String: [UInt8]]] = [:]
        for entry in try TarReader.scan(path: path).entries {
            let dot = try XCTUnwrap(entry.name.firstIndex(of: "."))
            samples[String(entry.name[..<dot]), default: [:]][String(entry.name[entry.name.index(after: dot)...])] =
                Array(bytes[entry.dataOffset..<(entry.dataOffset + entry.size)])
        }
        return samples
    }
}
