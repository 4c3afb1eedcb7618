import ArgumentParser
import CLIP
import DataPipeline
import EmojiData
import Foundation
import Training
import TrainingKit

/// `swiftclip data`: look at training data the way `train` will read it.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Inspect training data, write the built-in synthetic dataset to disk, build the emoji data set, or write a random subset of shards.",
        subcommands: [Inspect.self, WriteSynthetic.self, Emoji.self, Subset.self])

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the sample count, a few captions with their tokens, image size statistics and skipped samples.")
        @Option(name: .long, help: "synthetic, webdataset, csv or auto.") var datasetType = "auto"
        @Option(name: .long, help: "Shards (brace expansion, '::' joins) or a CSV file.") var trainData: String?
        @Option(name: .long, help: "CSV column of image paths.") var csvImgKey = "filepath"
        @Option(name: .long, help: "CSV column of captions.") var csvCaptionKey = "title"
        @Option(name: .long, help: "CSV separator (\\t for tab).") var csvSeparator = "\t"
        @Option(name: .long, help: "Model whose tokenizer to show tokens with (name or JSON).") var model = "clip-tiny"
        @Option(name: .long, help: "CLIP BPE merges file (for 49,408-id models).") var merges: String?
        @Option(name: .long, help: "Captions to show.") var captions = 5

        func run() throws {
            try reportingErrors("data inspect") {
                guard let type = DataSourceOptions.DatasetType(rawValue: datasetType) else {
                    throw ValidationError("--dataset-type must be synthetic, webdataset, csv or auto")
                }
                let options = DataSourceOptions(datasetType: type, data: trainData, csvImageKey: csvImgKey, csvCaptionKey: csvCaptionKey,
                                                csvSeparator: csvSeparator == "\\t" ? "\t" : csvSeparator)
                let inspection = try DataInspector.inspect(options, captionCount: captions)
                print(inspection)
                var arguments = ["--dataset-type", datasetType, "--csv-img-key", csvImgKey, "--csv-caption-key", csvCaptionKey,
                                 "--csv-separator", options.csvSeparator, "--model", model]
                if let trainData { arguments += ["--train-data", trainData] }
                if let merges { arguments += ["--merges", merges] }
                let settings = try Families.settings(arguments: arguments)
                let modelConfig = try ModelCatalog.config(model)
                let tokenizer = try DataSetup(settings: settings, imageSize: modelConfig.vision.imageSize, contextLength: modelConfig.text.contextLength,
                                              vocabularySize: modelConfig.text.vocabSize,
                                              runDirectory: NSTemporaryDirectory() + "/swiftclip-inspect-\(getpid())").tokenizer()
                print("tokens (\(model), context \(modelConfig.text.contextLength)):")
                for caption in inspection.captions {
                    let ids = tokenizer.encode(caption, contextLength: modelConfig.text.contextLength)
                    let end = (ids.lastIndex { $0 != 0 } ?? 0) + 1
                    print("  \(caption.debugDescription) -> \(ids.prefix(end).map(String.init).joined(separator: " "))")
                }
            }
        }
    }

    struct WriteSynthetic: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "write-synthetic",
            abstract: "Write the built-in synthetic shapes as WebDataset shards, a CSV folder or a zero-shot image folder.")
        @Option(name: .long, help: "webdataset, csv or imagefolder.") var format = "webdataset"
        @Option(name: .long, help: "train or val.") var split = "train"
        @Option(name: .long, help: "Samples to write.") var count = 1000
        @Option(name: .long, help: "Image size in pixels.") var imageSize = 32
        @Option(name: .long, help: "Output folder.") var output: String
        @Flag(name: .long, help: "WebDataset only: also write each sample's sound (.wav: a tone for its colour and one for its shape) and class (.cls).")
        var audio = false

        func run() throws {
            try reportingErrors("data write-synthetic") {
                if audio && format != "webdataset" { throw ValidationError("--audio needs --format webdataset") }
                let data = SyntheticShapes(imageSize: imageSize, trainCount: max(count, 1), valCount: max(count, 1))
                guard let part = SyntheticShapes.Split(rawValue: split) else { throw ValidationError("--split must be train or val") }
                let layout: SyntheticExportFormat
                switch format {
                case "webdataset": layout = .webDataset(samplesPerShard: 1000)
                case "csv": layout = .csv
                case "imagefolder": layout = .imageFolder
                default: throw ValidationError("--format must be webdataset, csv or imagefolder")
                }
                let spec = try data.writeSynthetic(split: part, to: output, format: layout, encoding: .png, count: count, withAudio: audio)
                print("wrote \(count) samples; use: \(spec)")
            }
        }
    }

    struct Subset: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a seeded random subset of WebDataset samples as new shards (every member file copied as it is).")
        @Option(name: .long, help: "Shards to choose from (brace expansion, '::' joins).") var data: String
        @Option(name: .long, help: "How many samples to choose (uniformly, without replacement).") var samples: Int
        @Option(name: .long, help: "Seed of the choice.") var seed: UInt64 = 0
        @Option(name: .long, help: "Output folder; shards are named PREFIX-000.tar, PREFIX-001.tar, ...") var output: String
        @Option(name: .long, help: "Name prefix of the output shards.") var prefix = "train"
        @Option(name: .long, help: "Samples per output shard.") var samplesPerShard = 1000

        func run() throws {
            try reportingErrors("data subset") {
                print(try WebDatasetSubset.write(shardSpec: data, count: samples, seed: seed, outputDirectory: output, prefix: prefix,
                                                 samplesPerShard: samplesPerShard))
            }
        }
    }

    struct Emoji: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build a real image-caption data set (WebDataset shards, zero-shot folders) from the Noto Color Emoji font and Unicode's emoji list.")
        @Option(name: .long, help: "Output folder (new or empty).") var output: String
        @Option(name: .long, help: "Image side in pixels.") var imageSize = 32
        @Option(name: .long, help: "Fraction of emoji (by a hash of the name) in the validation split.") var valFraction = 0.1
        @Option(name: .long, help: "Samples per tar shard.") var samplesPerShard = 1000
        @Option(name: .long, help: "Colour bitmap emoji font (CBDT/CBLC).") var font = EmojiDatasetOptions(output: "").fontPath
        @Option(name: .long, help: "Unicode's emoji-test.txt.") var emojiTest = EmojiDatasetOptions(output: "").emojiTestPath
        @Option(name: .long, help: "CLDR 'common' folder with annotations/en.xml (keywords; 'none' for no keywords).")
        var cldr = EmojiDatasetOptions(output: "").cldrDirectory ?? "none"
        @Flag(name: .long, help: "Also write the image-name pairs data set (pairs-train/pairs-val shards): each emoji's image with its own name, a name of its subgroup, of its group and of another group, labelled by that relation (pairs-classes.txt).")
        var pairs = false
        @Option(name: .long, help: "Seed of the pairs' partner names and order.") var pairsSeed: UInt64 = 0
        @Flag(name: .long, help: "Also give every sample a .wav member: espeak-ng speaking the name (16 kHz mono; voice, speed, pitch and noise level chosen from the key).")
        var speech = false
        @Flag(name: .long, help: "Also write the audio-visual pairs data set (av-train/av-val shards): the pairs task with the name spoken, over a closed set of 16 emoji; validation speaks with voices training never hears.")
        var avPairs = false
        @Option(name: .long, help: "Rendition rounds of the audio-visual training pairs (each speaks every name once).") var avRenditions = 40
        @Option(name: .long, help: "Rendition rounds of the audio-visual validation pairs (held-out voices).") var avValRenditions = 10
        @Option(name: .long, help: "The espeak-ng program (Debian package espeak-ng).") var espeak = EmojiDatasetOptions(output: "").espeakPath

        func run() throws {
            try reportingErrors("data emoji") {
                var options = EmojiDatasetOptions(output: output)
                options.imageSize = imageSize
                options.valFraction = valFraction
                options.samplesPerShard = samplesPerShard
                options.fontPath = font
                options.emojiTestPath = emojiTest
                options.cldrDirectory = cldr == "none" ? nil : cldr
                options.pairs = pairs
                options.pairsSeed = pairsSeed
                options.speech = speech
                options.avPairs = avPairs
                options.avRenditions = avRenditions
                options.avValRenditions = avValRenditions
                options.espeakPath = espeak
                print(try EmojiDatasetBuilder.build(options))
            }
        }
    }
}
