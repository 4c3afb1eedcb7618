import DataPipeline
@testable import EmojiData
import Foundation
import XCTest

final class EmojiTestListTests: XCTestCase {
    static let excerpt = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/emoji-test-excerpt.txt").path

    func testParsesFullyQualifiedEmojiWithGroupsAndSubgroups() throws {
        let text = try String(contentsOfFile: Self.excerpt, encoding: .utf8)
        let entries = try EmojiTestList.parse(text, path: Self.excerpt)
        XCTAssertEqual(entries.map(\.key), ["1f600", "1f603", "263a-fe0f", "1f44b", "1f44b-1f3fb", "1f468-200d-1f469-200d-1f467",
                                            "23-fe0f-20e3", "1f1ef-1f1f5"])
        XCTAssertEqual(entries[1], EmojiEntry(codePoints: [0x1F603], name: "grinning face with big eyes", group: "Smileys & Emotion",
                                              subgroup: "face-smiling", version: "E0.6"))
        XCTAssertEqual(entries[4].name, "waving hand: light skin tone")
        XCTAssertEqual(entries[4].group, "People & Body")
        XCTAssertEqual(entries[5].name, "family: man, woman, girl")
        XCTAssertEqual(entries[6].name, "keycap: #")
        XCTAssertEqual(entries[6].subgroup, "keycap")
        XCTAssertEqual(entries[7].name, "flag: Japan")
        XCTAssertEqual(entries[7].group, "Flags")
        XCTAssertEqual(entries[7].string, "🇯🇵")
    }

    func testMalformedLinesNameTheLine() {
        let text = "# group: G\n# subgroup: s\n1F600 ; fully-qualified # 😀 E1.0 grinning face\nZZZZ ; fully-qualified # ? E1.0 bad\n"
        XCTAssertThrowsError(try EmojiTestList.parse(text, path: "list.txt")) { error in
            XCTAssertEqual("\(error)", "list.txt:4: bad code point 'ZZZZ'")
        }
        XCTAssertThrowsError(try EmojiTestList.parse("1F600 ; fully-qualified # 😀 E1.0 grinning face\n", path: "list.txt")) { error in
            XCTAssertEqual("\(error)", "list.txt:1: emoji before any '# group:' and '# subgroup:' line")
        }
    }

    func testCLDRKeywordsAreKeyedWithoutVariationSelectors() {
        let xml = """
            <annotation cp="☺">face | outlined | relaxed | smile | smiling face</annotation>
            <annotation cp="☺" type="tts">smiling face</annotation>
            <annotation cp="&amp;">ampersand | and</annotation>
        """
        let keywords = CLDRAnnotations.parse(xml)
        XCTAssertEqual(keywords[CLDRAnnotations.bareKey("\u{263A}\u{FE0F}")], ["face", "outlined", "relaxed", "smile", "smiling face"])
        XCTAssertEqual(keywords["&"], ["ampersand", "and"])
        XCTAssertEqual(keywords.count, 2)
    }
}

final class EmojiSplitTests: XCTestCase {
    func testSplitDependsOnTheNameAloneAndHonoursTheFraction() {
        let names = (0..<20_000).map { "emoji name \($0)" }
        let first = names.map { EmojiSplit.isValidation(name: $0, valFraction: 0.1) }
        let reversed = names.reversed().map { EmojiSplit.isValidation(name: $0, valFraction: 0.1) }
        XCTAssertEqual(first, Array(reversed.reversed()))
        let fraction = Double(first.filter { $0 }.count) / Double(names.count)
        XCTAssertEqual(fraction, 0.1, accuracy: 0.01)
        XCTAssertFalse(names.contains { EmojiSplit.isValidation(name: $0, valFraction: 0) })
        // A larger fraction only adds names to the validation split.
        for name in names.prefix(2000) where EmojiSplit.isValidation(name: name, valFraction: 0.1) {
            XCTAssertTrue(EmojiSplit.isValidation(name: name, valFraction: 0.2))
        }
        // The hash is part of the data set's definition: a change would move emoji between the splits.
        XCTAssertEqual(EmojiSplit.hash("grinning face"), EmojiSplit.hash("grinning face"))
        XCTAssertEqual(String(EmojiSplit.hash(""), radix: 16), Self.emptyNameHash)
    }

    /// SplitMix64's finaliser of FNV-1a's offset basis.
    static let emptyNameHash: String = {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        h = (h ^ (h >> 30)) &* 0xbf58_476d_1ce4_e5b9
        h = (h ^ (h >> 27)) &* 0x94d0_49bb_1331_11eb
        return String(h ^ (h >> 31), radix: 16)
    }()

    func testAreaTapsCoverEachOutputPixelOnce() {
        for (source, output) in [(136, 32), (32, 32), (8, 3), (3, 8)] {
            for taps in EmojiImage.areaTaps(source: source, output: output) {
                XCTAssertEqual(taps.reduce(0) { $0 + $1.1 }, 1, accuracy: 1e-12)
            }
        }
        let rgba: [UInt8] = [255, 0, 0, 255, 0, 0, 255, 0, /* row 2 */ 0, 0, 255, 255, 0, 0, 0, 255]
        let image = EmojiImage.render(rgba: rgba, width: 2, height: 2, size: 1)
        // Red, transparent (white), blue, black: averaged channel by channel.
        // Red: (255 + 255 + 0 + 0) / 4 = 127.5 rounds to 128; green 255 / 4 = 63.75 -> 64; blue (255 + 255) / 4 -> 128.
        XCTAssertEqual(image.pixels, [128, 64, 128])
    }
}

/// The sfnt reader and the builder on the real Noto Color Emoji font (Debian's fonts-noto-color-emoji).
final class EmojiFontTests: XCTestCase {
    static let fontPath = EmojiDatasetOptions(output: "").fontPath

    func font() throws -> EmojiFont {
        guard FileManager.default.fileExists(atPath: Self.fontPath) else {
            throw XCTSkip("\(Self.fontPath) is not installed (apt-get install fonts-noto-color-emoji)")
        }
        return try EmojiFont(path: Self.fontPath)
    }

    func testReadsBitmapsThroughCmapAndLigatures() throws {
        let font = try font()
        XCTAssertGreaterThan(font.bitmaps.ppem, 64)
        XCTAssertGreaterThan(font.bitmaps.glyphCount, 3000)
        XCTAssertGreaterThan(font.ligatures.count, 1000)
        let sequences: [[UInt32]] = [
            [0x1F600], [0x263A, 0xFE0F], [0x1F44B, 0x1F3FB], [0x1F468, 0x200D, 0x1F469, 0x200D, 0x1F467], [0x23, 0xFE0F, 0x20E3],
            [0x1F1EF, 0x1F1F5],
        ]
        var glyphs: Set<UInt16> = []
        for sequence in sequences {
            let png = try XCTUnwrap(font.png(sequence), "no bitmap for \(sequence.map { String($0, radix: 16) })")
            XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            let decoded = try PNGCodec.decodeRGBA(png, name: "glyph")
            XCTAssertGreaterThan(decoded.width, 64)
            XCTAssertGreaterThan(decoded.height, 64)
            // Emoji are drawn on a transparent background.
            XCTAssertEqual(decoded.pixels[3], 0)
            glyphs.insert(try XCTUnwrap(font.glyph(sequence)))
        }
        XCTAssertEqual(glyphs.count, sequences.count, "each sequence has its own glyph")
        // The waving hand with a skin tone is a ligature, not the plain hand.
        XCTAssertNotEqual(font.glyph([0x1F44B]), font.glyph([0x1F44B, 0x1F3FB]))
        XCTAssertNil(font.png([0x41]), "the Latin letter A has no colour bitmap")
        XCTAssertNil(font.png([0x1F1EF, 0x1F1EF]), "no flag for JJ")
    }

    /// The excerpt's 8 emoji at 16x16, half in validation, 2 samples a shard, with the pairs data set.
    static func excerptOptions(output: String) -> EmojiDatasetOptions {
        var options = EmojiDatasetOptions(output: output)
        options.emojiTestPath = EmojiTestListTests.excerpt
        options.cldrDirectory = nil
        options.imageSize = 16
        options.valFraction = 0.5
        options.samplesPerShard = 2
        options.pairs = true
        return options
    }

    func testBuildIsByteIdenticalAndComplete() throws {
        _ = try font()
        let root = NSTemporaryDirectory() + "emoji-build-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        func build(_ name: String) throws -> EmojiDatasetSummary { try EmojiDatasetBuilder.build(Self.excerptOptions(output: root + "/" + name)) }
        let a = try build("a"), b = try build("b")
        XCTAssertEqual(a.trainCount + a.valCount, 8)
        XCTAssertGreaterThan(a.valCount, 0)
        XCTAssertGreaterThan(a.trainCount, 0)
        XCTAssertEqual(a.undrawable, [])
        XCTAssertEqual(a.groups, ["Smileys & Emotion", "People & Body", "Symbols", "Flags"])
        XCTAssertEqual(b.trainCount, a.trainCount)
        let files = try XCTUnwrap(FileManager.default.subpaths(atPath: root + "/a")).sorted()
        XCTAssertEqual(files, try XCTUnwrap(FileManager.default.subpaths(atPath: root + "/b")).sorted())
        for file in files where !file.hasSuffix("README.md") {
            var isFolder: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: root + "/a/" + file, isDirectory: &isFolder)
            if isFolder.boolValue { continue }
            XCTAssertEqual(FileManager.default.contents(atPath: root + "/a/" + file), FileManager.default.contents(atPath: root + "/b/" + file), file)
        }
        // The shards read back through the training pipeline: a .txt caption, a .cls label and a 16x16 PNG per sample.
        let source = try WebDatasetSource(shardSpec: a.trainPattern, fields: [.image, .text, .label])
        XCTAssertEqual(try source.sampleCount(), a.trainCount)
        let sample = try source.load(id: 0)
        XCTAssertFalse(sample.caption.isEmpty)
        XCTAssertTrue((0..<4).contains(sample.label))
        let image = try sample.decodedImage()
        XCTAssertEqual([image.width, image.height], [16, 16])
        let zeroShot = try ZeroShotFolder(root: root + "/a/zeroshot-groups")
        XCTAssertEqual(zeroShot.classNames, ["smileys & emotion", "people & body", "symbols", "flags"])
        XCTAssertEqual(zeroShot.items.count, a.valCount)

        XCTAssertEqual(FileManager.default.contents(atPath: root + "/a/pairs-classes.txt"),
                       Data("same emoji\nsame subgroup\nsame group\ndifferent group\n".utf8))

        XCTAssertThrowsError(try build("a")) { XCTAssertTrue("\($0)".contains("output folder is not empty")) }
    }

    /// All 8 emoji of the excerpt in the training split: the two grinning faces and the two waving hands have a subgroup
    /// mate and another subgroup in their group, so each is the image of one pair per relation; the shards say so.
    func testPairsShardsLabelEachImageNamePairByItsRelation() throws {
        _ = try font()
        let root = NSTemporaryDirectory() + "emoji-pairs-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        var options = EmojiDatasetOptions(output: root)
        options.emojiTestPath = EmojiTestListTests.excerpt
        options.cldrDirectory = nil
        options.imageSize = 8
        options.valFraction = 0
        options.pairs = true
        let summary = try EmojiDatasetBuilder.build(options)
        XCTAssertEqual([summary.pairsTrainCount, summary.pairsValCount], [16, 0])
        let source = try WebDatasetSource(shardSpec: summary.pairsTrainPattern, fields: [.image, .text, .label])
        XCTAssertEqual(try source.sampleCount(), 16)
        let names = try EmojiTestList.parse(String(contentsOfFile: options.emojiTestPath, encoding: .utf8), path: "")
            .reduce(into: [String: EmojiEntry]()) { $0[$1.key] = $1 }
        var relationsOfImage: [String: [Int]] = [:]
        for id in 0..<16 {
            let sample = try source.load(id: id)
            let keys = sample.key.split(separator: ":").last!.split(separator: "_").map(String.init)  // "shard.tar:image_text"
            let image = try XCTUnwrap(names[keys[0]]), text = try XCTUnwrap(names[keys[1]])
            XCTAssertEqual(sample.caption, text.name.lowercased())
            let expected = image.key == text.key ? 0 : image.subgroup == text.subgroup ? 1 : image.group == text.group ? 2 : 3
            XCTAssertEqual(sample.label, expected, sample.key)
            relationsOfImage[image.name, default: []].append(sample.label)
        }
        XCTAssertEqual(relationsOfImage.keys.sorted(), ["grinning face", "grinning face with big eyes", "waving hand", "waving hand: light skin tone"])
        for (_, labels) in relationsOfImage { XCTAssertEqual(labels.sorted(), [0, 1, 2, 3]) }
    }

    func testMissingSourcesNameTheFileAndThePackage() {
        var options = EmojiDatasetOptions(output: NSTemporaryDirectory() + "emoji-missing-\(getpid())")
        options.fontPath = "/nonexistent/NotoColorEmoji.ttf"
        options.cldrDirectory = nil
        options.emojiTestPath = EmojiTestListTests.excerpt
        XCTAssertThrowsError(try EmojiDatasetBuilder.build(options)) { error in
            XCTAssertEqual("\(error)", "/nonexistent/NotoColorEmoji.ttf: file not found; install the Debian package fonts-noto-color-emoji "
                + "(apt-get install fonts-noto-color-emoji) or pass the file's path")
        }
        options.emojiTestPath = "/nonexistent/emoji-test.txt"
        XCTAssertThrowsError(try EmojiDatasetBuilder.build(options)) { XCTAssertTrue("\($0)".hasPrefix("/nonexistent/emoji-test.txt: file not found; install the Debian package unicode-data")) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: options.output))
    }
}

final class EmojiPairsTests: XCTestCase {
    /// Three groups; group 0 has subgroups 0 (4 emoji) and 1 (2), group 1 has subgroups 2 (3) and 3 (1, a lone emoji
    /// that cannot take part), group 2 has one subgroup 4 (2; no other subgroup in its group, so it cannot take part).
    static let items: [EmojiPairItem] = [(0, 0), (0, 0), (0, 0), (0, 0), (0, 1), (0, 1), (1, 2), (1, 2), (1, 2), (1, 3), (2, 4), (2, 4)]
        .enumerated().map { EmojiPairItem(key: "e\($0.offset)", group: $0.element.0, subgroup: $0.element.1) }

    func testEachEligibleImageHasOnePairPerRelationLabelledCorrectly() {
        let items = Self.items
        let pairs = EmojiPairs.make(items, seed: 7)
        XCTAssertEqual(pairs.count, 9 * 4, "the 9 emoji whose subgroup and group have other members")
        for pair in pairs {
            XCTAssertEqual(pair.relation, EmojiRelation.of(items[pair.image], items[pair.text]))
            switch pair.relation {
            case .sameEmoji: XCTAssertEqual(pair.image, pair.text)
            case .sameSubgroup: XCTAssertTrue(pair.image != pair.text && items[pair.image].subgroup == items[pair.text].subgroup)
            case .sameGroup: XCTAssertTrue(items[pair.image].group == items[pair.text].group && items[pair.image].subgroup != items[pair.text].subgroup)
            case .differentGroup: XCTAssertNotEqual(items[pair.image].group, items[pair.text].group)
            }
        }
        let byImage = Dictionary(grouping: pairs, by: \.image)
        XCTAssertEqual(Set(byImage.keys), Set(0...8))
        for (_, group) in byImage { XCTAssertEqual(group.map(\.relation.rawValue).sorted(), [0, 1, 2, 3]) }
        XCTAssertEqual(Set(pairs.map { "\($0.image)-\($0.text)" }).count, pairs.count, "keys image_text are unique")
    }

    func testSameSeedSamePairsOtherSeedOtherPartnersAndOrder() {
        let a = EmojiPairs.make(Self.items, seed: 7)
        XCTAssertEqual(a, EmojiPairs.make(Self.items, seed: 7))
        let b = EmojiPairs.make(Self.items, seed: 8)
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(Set(a.map { "\($0.image)-\($0.relation)" }), Set(b.map { "\($0.image)-\($0.relation)" }))
        XCTAssertNotEqual(a.map(\.image), a.map(\.image).sorted(), "shuffled, not in the items' order")
    }

    func testRelationOfTwoEmoji() {
        let items = Self.items
        XCTAssertEqual(EmojiRelation.of(items[0], items[0]), .sameEmoji)
        XCTAssertEqual(EmojiRelation.of(items[0], items[3]), .sameSubgroup)
        XCTAssertEqual(EmojiRelation.of(items[0], items[5]), .sameGroup)
        XCTAssertEqual(EmojiRelation.of(items[0], items[10]), .differentGroup)
    }
}
