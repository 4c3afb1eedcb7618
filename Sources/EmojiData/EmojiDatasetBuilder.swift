import DataPipeline
import Foundation

/// Where the emoji data set's sources live (Debian's paths by default) and how to build it.
public struct EmojiDatasetOptions: Sendable {
    public var output: String
    public var fontPath = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
    public var emojiTestPath = "/usr/share/unicode/emoji/emoji-test.txt"
    /// CLDR's `common` folder (annotations/en.xml, annotationsDerived/en.xml); nil: no keywords.
    public var cldrDirectory: String? = "/usr/share/unicode/cldr/common"
    public var imageSize = 32
    public var valFraction = 0.1
    public var samplesPerShard = 1000
    /// Also write the image-name pairs data set (`pairs-train-NNN.tar`, `pairs-val-NNN.tar`, `pairs-classes.txt`).
    public var pairs = false
    public var pairsSeed: UInt64 = 0
    /// Also give every sample a `.wav` member: espeak-ng speaking the emoji's name (in pairs, the paired name).
    public var speech = false
    public var espeakPath = "/usr/bin/espeak-ng"
    /// Also write the audio-visual pairs data set (`av-train-NNN.tar`, `av-val-NNN.tar`; `EmojiAVPairs`): this many
    /// rendition rounds for training and `avValRenditions` with held-out voices for validation.
    public var avPairs = false
    public var avRenditions = 40
    public var avValRenditions = 10

    public init(output: String) { self.output = output }
}

/// What a build wrote.
public struct EmojiDatasetSummary: Sendable, CustomStringConvertible {
    public var trainCount = 0, valCount = 0
    public var groups: [String] = [], subgroups: [String] = []
    /// Fully-qualified emoji (outside the Component group) the font cannot draw as one glyph.
    public var undrawable: [String] = []
    public var trainPattern = "", valPattern = ""
    public var pairsTrainCount = 0, pairsValCount = 0
    public var pairsTrainPattern = "", pairsValPattern = ""
    public var avTrainCount = 0, avValCount = 0
    public var avTrainPattern = "", avValPattern = ""

    public var description: String {
        """
        emoji data set: \(trainCount) train + \(valCount) val samples, \(groups.count) groups, \(subgroups.count) subgroups\
        \(undrawable.isEmpty ? "" : ", \(undrawable.count) emoji the font cannot draw left out")
          train: \(trainPattern)
          val:   \(valPattern)\
        \(pairsTrainPattern.isEmpty ? "" : "\npairs: \(pairsTrainCount) train + \(pairsValCount) val samples, \(EmojiRelation.allCases.count) classes\n  train: \(pairsTrainPattern)\n  val:   \(pairsValPattern)")\
        \(avTrainPattern.isEmpty ? "" : "\naudio-visual pairs: \(avTrainCount) train + \(avValCount) val samples (held-out voices)\n  train: \(avTrainPattern)\n  val:   \(avValPattern)")
        """
    }
}

/// Metadata written as each sample's `.json` member.
struct EmojiSampleMetadata: Codable {
    var name: String
    var emoji: String
    var codePoints: [String]
    var group: String
    var groupIndex: Int
    var subgroup: String
    var subgroupIndex: Int
    var version: String
    var keywords: [String]
    var captions: [String]

    enum CodingKeys: String, CodingKey {
        case name, emoji, group, subgroup, version, keywords, captions
        case codePoints = "code_points", groupIndex = "group_index", subgroupIndex = "subgroup_index"
    }
}

/// Builds an image-caption data set from a colour emoji font and Unicode's emoji list: WebDataset shards
/// (`train-NNN.tar`, `val-NNN.tar`) whose samples hold `.png`, `.txt` (the lower-case CLDR name), `.cls` (the group's
/// index) and `.json`; `classes.txt`, `subgroups.txt`, zero-shot folders of the validation split by group and by subgroup,
/// and a README naming the sources and their licences. The same inputs always give the same bytes.
public enum EmojiDatasetBuilder {
    /// The one group of emoji-test.txt that holds skin-tone and hair components rather than emoji.
    static let componentGroup = "Component"

    public static func build(_ options: EmojiDatasetOptions) throws -> EmojiDatasetSummary {
        guard options.imageSize > 0, options.imageSize <= 4096 else { throw EmojiDataError.invalidOption("--image-size must be in 1...4096") }
        guard options.valFraction >= 0, options.valFraction < 1 else { throw EmojiDataError.invalidOption("--val-fraction must be in [0, 1)") }
        guard options.samplesPerShard > 0 else { throw EmojiDataError.invalidOption("--samples-per-shard must be positive") }
        guard !options.avPairs || (options.avRenditions > 0 && options.avValRenditions > 0) else {
            throw EmojiDataError.invalidOption("--av-renditions and --av-val-renditions must be positive")
        }
        let listText = try readSource(options.emojiTestPath, package: "unicode-data")
        try requireSource(options.fontPath, package: "fonts-noto-color-emoji")
        var keywords: [String: [String]] = [:]
        if let cldr = options.cldrDirectory {
            // Derived annotations (skin tones, sequences) first, so the hand-written ones win where both exist.
            for file in ["annotationsDerived/en.xml", "annotations/en.xml"] {
                keywords.merge(CLDRAnnotations.parse(try readSource(cldr + "/" + file, package: "unicode-cldr-core"))) { $1 }
            }
        }
        let entries = try EmojiTestList.parse(listText, path: options.emojiTestPath).filter { $0.group != componentGroup }
        let font = try EmojiFont(path: options.fontPath)
        let speaker = options.speech || options.avPairs ? try EmojiSpeech(executable: options.espeakPath) : nil
        try prepareOutput(options.output)
        // Every name is spoken up front, many espeak-ng processes at once.
        let speech = try options.speech ? speaker?.speakAll(entries.map { (text: $0.name.lowercased(), key: $0.key) }) : nil

        var summary = EmojiDatasetSummary()
        for entry in entries {
            if !summary.groups.contains(entry.group) { summary.groups.append(entry.group) }
            if !summary.subgroups.contains(entry.subgroup) { summary.subgroups.append(entry.subgroup) }
        }
        let train = ShardSequence(directory: options.output, prefix: "train", perShard: options.samplesPerShard)
        let val = ShardSequence(directory: options.output, prefix: "val", perShard: options.samplesPerShard)
        let groupFolders = ZeroShotLayout(root: options.output + "/zeroshot-groups", classes: summary.groups.map { $0.lowercased() })
        let subgroupFolders = ZeroShotLayout(root: options.output + "/zeroshot-subgroups",
                                             classes: summary.subgroups.map { $0.replacingOccurrences(of: "-", with: " ") })
        try groupFolders.create()
        try subgroupFolders.create()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var pairSources = (train: EmojiPairSources(), val: EmojiPairSources())
        var avCandidates: [EmojiAVPairs.Member] = []

        for (index, entry) in entries.enumerated() {
            guard let png = font.png(entry.codePoints) else {
                summary.undrawable.append(entry.key)
                continue
            }
            let decoded = try PNGCodec.decodeRGBA(png, name: "\(options.fontPath): glyph of \(entry.key)")
            let image = EmojiImage.render(rgba: decoded.pixels, width: decoded.width, height: decoded.height, size: options.imageSize)
            let encoded = try PNGCodec.encode(image)
            let name = entry.name.lowercased()
            let words = keywords[CLDRAnnotations.bareKey(entry.string)] ?? []
            let groupIndex = summary.groups.firstIndex(of: entry.group)!, subgroupIndex = summary.subgroups.firstIndex(of: entry.subgroup)!
            let metadata = EmojiSampleMetadata(
                name: name, emoji: entry.string, codePoints: entry.codePoints.map { "U+" + String(format: "%04X", $0) },
                group: entry.group, groupIndex: groupIndex, subgroup: entry.subgroup, subgroupIndex: subgroupIndex,
                version: entry.version, keywords: words, captions: [name] + (words.isEmpty ? [] : [words.joined(separator: ", ")]))
            let wav = speech?[index]
            let members: [(String, [UInt8])] = [
                ("png", encoded), ("txt", Array(name.utf8)), ("cls", Array(String(groupIndex).utf8)),
                ("json", Array(try encoder.encode(metadata))),
            ] + (wav.map { [("wav", $0)] } ?? [])
            let pairItem = EmojiPairItem(key: entry.key, group: groupIndex, subgroup: subgroupIndex)
            avCandidates.append(.init(item: pairItem, png: encoded, metadata: metadata))
            if EmojiSplit.isValidation(name: name, valFraction: options.valFraction) {
                pairSources.val.add(pairItem, png: encoded, metadata: metadata, wav: wav)
                try val.add(key: entry.key, members: members)
                try groupFolders.add(image: encoded, key: entry.key, label: groupIndex)
                try subgroupFolders.add(image: encoded, key: entry.key, label: subgroupIndex)
            } else {
                pairSources.train.add(pairItem, png: encoded, metadata: metadata, wav: wav)
                try train.add(key: entry.key, members: members)
            }
        }
        summary.trainCount = train.count
        summary.valCount = val.count
        summary.trainPattern = try train.finish()
        summary.valPattern = try val.finish()
        if options.pairs {
            let pairsTrain = ShardSequence(directory: options.output, prefix: "pairs-train", perShard: options.samplesPerShard)
            let pairsVal = ShardSequence(directory: options.output, prefix: "pairs-val", perShard: options.samplesPerShard)
            try pairSources.train.write(to: pairsTrain, seed: options.pairsSeed, encoder: encoder)
            try pairSources.val.write(to: pairsVal, seed: options.pairsSeed, encoder: encoder)
            summary.pairsTrainCount = pairsTrain.count
            summary.pairsValCount = pairsVal.count
            summary.pairsTrainPattern = try pairsTrain.finish()
            summary.pairsValPattern = try pairsVal.finish()
        }
        if options.avPairs, let speaker {
            let members = try EmojiAVPairs.closedSet(avCandidates)
            let avTrain = ShardSequence(directory: options.output, prefix: "av-train", perShard: options.samplesPerShard)
            let avVal = ShardSequence(directory: options.output, prefix: "av-val", perShard: options.samplesPerShard)
            try EmojiAVPairs.write(members, split: "train", rounds: options.avRenditions, seed: options.pairsSeed,
                                   speaker: speaker, to: avTrain, encoder: encoder)
            try EmojiAVPairs.write(members, split: "val", rounds: options.avValRenditions, seed: options.pairsSeed,
                                   speaker: speaker, to: avVal, encoder: encoder)
            summary.avTrainCount = avTrain.count
            summary.avValCount = avVal.count
            summary.avTrainPattern = try avTrain.finish()
            summary.avValPattern = try avVal.finish()
        }
        if options.pairs || options.avPairs {
            try writeText(options.output + "/pairs-classes.txt", EmojiRelation.allCases.map(\.className).joined(separator: "\n") + "\n")
        }
        try writeText(options.output + "/classes.txt", summary.groups.joined(separator: "\n") + "\n")
        try writeText(options.output + "/subgroups.txt", summary.subgroups.joined(separator: "\n") + "\n")
        try writeText(options.output + "/README.md", EmojiDatasetReadme.text(summary: summary, options: options))
        return summary
    }

    static func requireSource(_ path: String, package: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw EmojiDataError.missingSource(path: path, package: package) }
    }

    static func readSource(_ path: String, package: String) throws -> String {
        try requireSource(path, package: package)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EmojiDataError.malformedList(path: path, line: 0, reason: "cannot read the file")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The output folder must be new or empty, so a build never mixes with (or silently deletes) other files.
    static func prepareOutput(_ path: String) throws {
        let fm = FileManager.default
        if let contents = try? fm.contentsOfDirectory(atPath: path), !contents.isEmpty {
            throw EmojiDataError.invalidOption("\(path): output folder is not empty; choose a new folder or remove it")
        }
        try makeFolder(path)
    }

    static func makeFolder(_ path: String) throws {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw EmojiDataError.invalidOption("\(path): cannot create folder: \(error.localizedDescription)")
        }
    }

    static func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw EmojiDataError.invalidOption("\(path): cannot write file")
        }
    }

    static func writeText(_ path: String, _ text: String) throws { try writeFile(path, Array(text.utf8)) }
}

/// Tar shards `<prefix>-000.tar`, `<prefix>-001.tar`, ... of at most `perShard` samples each.
final class ShardSequence {
    let directory: String, prefix: String, perShard: Int
    private(set) var count = 0
    private var writer: TarWriter?
    private var shards = 0

    init(directory: String, prefix: String, perShard: Int) {
        self.directory = directory
        self.prefix = prefix
        self.perShard = perShard
    }

    func add(key: String, members: [(String, [UInt8])]) throws {
        if count % perShard == 0 {
            try writer?.finish()
            writer = try TarWriter(path: directory + "/" + shardName(shards))
            shards += 1
        }
        for (ext, bytes) in members { try writer!.add(name: key + "." + ext, contents: bytes) }
        count += 1
    }

    /// Closes the last shard and returns the brace pattern of all of them (an empty split writes one empty shard).
    func finish() throws -> String {
        if writer == nil {
            writer = try TarWriter(path: directory + "/" + shardName(0))
            shards = 1
        }
        try writer?.finish()
        writer = nil
        let last = shardName(shards - 1).dropFirst(prefix.count + 1).dropLast(4)
        return directory + "/" + prefix + "-{000.." + last + "}.tar"
    }

    private func shardName(_ i: Int) -> String { prefix + "-" + String(format: "%03d", i) + ".tar" }
}

/// A zero-shot image folder as `ZeroShotFolder` reads it: one subfolder per class, named so that sorting them gives
/// the class order (`NNN-name`), `classnames.txt` in that order and `templates.txt`.
struct ZeroShotLayout {
    let root: String
    let classes: [String]

    /// Captions are bare names ("grinning face"), so the prompt is the bare class name too.
    static let templates = ["{}"]

    func folder(_ label: Int) -> String {
        let slug = classes[label].map { $0.isLetter || $0.isNumber ? String($0) : "-" }.joined()
        return root + "/" + String(format: "%03d", label) + "-" + slug
    }

    func create() throws {
        for label in classes.indices { try EmojiDatasetBuilder.makeFolder(folder(label)) }
        try EmojiDatasetBuilder.writeText(root + "/classnames.txt", classes.joined(separator: "\n") + "\n")
        try EmojiDatasetBuilder.writeText(root + "/templates.txt", Self.templates.joined(separator: "\n") + "\n")
    }

    func add(image: [UInt8], key: String, label: Int) throws {
        try EmojiDatasetBuilder.writeFile(folder(label) + "/" + key + ".png", image)
    }
}
