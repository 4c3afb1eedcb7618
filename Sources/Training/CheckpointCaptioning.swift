import CoCa
import DataPipeline
import Foundation
import TensorCore
import Text
import TrainingKit

/// Captions of image files by a CoCa checkpoint (`swiftclip caption`), with the tokenizer its run trained with.
public struct CheckpointCaptioning {
    public let model: CoCaModel
    var limits: CaptionLimits
    let vocabulary: CaptionVocabulary
    let tokenizer: TextTokenizer
    /// The checkpoint's run settings: CSV columns and separator of `--data`.
    let settings: Settings
    /// Where warnings about skipped images go.
    let messages: (String) -> Void

    /// The caption length when `--max-length` is not given, at most what the model's text tower can feed back.
    public static let defaultMaxLength = 20

    /// Loads `checkpoint` (`maxLength` nil: `defaultMaxLength`, or less for a short text context); a checkpoint of another family is an error saying it has no caption decoder.
    /// `repetitionPenalty` and `lengthPenalty` as `CaptionLimits` takes them.
    public init(checkpoint path: String, minLength: Int, maxLength: Int?, repetitionPenalty: Float = 1, lengthPenalty: Float = 1,
                messages: @escaping (String) -> Void) throws {
        self.messages = messages
        let loaded = try CheckpointModel(path, messages: messages)
        guard let task = loaded.task as? CoCaTask else {
            throw TrainingError("\(path): a \(loaded.family.name) checkpoint has no caption decoder (captions need a coca checkpoint)")
        }
        model = task.model
        settings = loaded.settings
        tokenizer = try task.tokenizer(RunContext(settings: loaded.settings, runDirectory: loaded.runDirectory))
        vocabulary = try CaptionVocabulary(tokenizer: tokenizer, source: path)
        // The text tower has positions for context_length tokens (and the cls token): longer captions cannot be fed back.
        let context = model.config.text.contextLength
        limits = try vocabulary.limits(padTokenId: Int32(model.config.text.padId), contextLength: context, minLength: minLength,
                                       maxLength: maxLength ?? min(Self.defaultMaxLength, context + 1))
        limits.repetitionPenalty = repetitionPenalty
        limits.lengthPenalty = lengthPenalty
    }

    /// The image files (PNG, JPEG, WebP) in `folder` and its subfolders, sorted by path.
    public static func imageFiles(in folder: String) throws -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: folder) else { throw TrainingError("--images \(folder): not a readable folder") }
        let files = walker.compactMap { $0 as? String }.filter { ["png", "jpg", "jpeg", "webp"].contains(($0 as NSString).pathExtension.lowercased()) }
        guard !files.isEmpty else { throw TrainingError("--images \(folder): no PNG, JPEG or WebP files") }
        return files.sorted().map { folder + "/" + $0 }
    }

    /// One caption per file that decodes (see `captions(ofImages:)`), with its path; a file that does not decode is skipped
    /// with a warning through `messages`, and the count of skipped files is reported at the end.
    public func captions(of files: [String], beams: Int, sampling: CaptionSampling? = nil) throws -> [(key: String, caption: String)] {
        let size = model.config.vision.imageSize
        let transform = ImageTransform(mode: .eval, size: size)
        var rng = ImageTransform.augmentationRandom(seed: 0, epoch: 0, position: 0)
        var values: [Float] = [], decoded: [String] = []
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else { throw TrainingError("\(file): cannot read file") }
            do {
                values += transform.apply(try ImageDecoder.decode([UInt8](data), name: file), rng: &rng)
                decoded.append(file)
            } catch {
                messages("warning: \(error); image skipped")
            }
        }
        if decoded.count < files.count { messages("\(files.count - decoded.count) of \(files.count) images could not be decoded and were skipped") }
        guard !decoded.isEmpty else { throw TrainingError("no image of the \(files.count) given could be decoded") }
        let images = Tensor(shape: [decoded.count, 3, size, size], values: values)
        return zip(decoded, captions(ofImages: images, beams: beams, sampling: sampling)).map { (key: $0, caption: $1) }
    }

    /// One caption per sample of `data` (WebDataset shards or CSV files, brace patterns and `::` joins, as `--train-data`
    /// names them; CSV columns and separator as the checkpoint's run read them), in the data's order, with each sample's key.
    public func captions(ofData data: String, beams: Int, sampling: CaptionSampling? = nil, batchSize: Int = 64) throws -> [(key: String, caption: String)] {
        guard !data.isEmpty else { throw TrainingError("--data: no shards or CSV files given") }
        let size = model.config.vision.imageSize
        let separator = settings.csvSeparator == "\\t" ? "\t" : settings.csvSeparator
        let source = try DataSourceOptions(data: data, csvImageKey: settings.csvImgKey, csvSeparator: separator, fields: [.image]).makeSource()
        let options = LoaderOptions(mode: .evaluation, batchSize: batchSize, transform: ImageTransform(mode: .eval, size: size),
                                    contextLength: model.config.text.contextLength, workers: 1)
        let loader = try DataLoader(source: source, tokenizer: tokenizer, options: options)
        var captioned: [(key: String, caption: String)] = []
        while let (batch, _) = try loader.next() {
            guard batch.count > 0 else { continue }
            let images = Tensor(shape: [batch.count, 3, size, size], values: batch.images)
            // Each batch draws from its own stream of the seed, so batches do not repeat one another's draws.
            var batchSampling = sampling
            if let sampling {
                var stream = SplitMix64(mixing: sampling.seed, UInt64(batch.index))
                batchSampling?.seed = stream.next()
            }
            captioned += zip(batch.keys, captions(ofImages: images, beams: beams, sampling: batchSampling)).map { (key: $0, caption: $1) }
        }
        if loader.skippedSamples > 0 {
            messages("\(loader.skippedSamples) sample(s) of --data \(data) skipped (an image missing or not decodable)")
        }
        guard !captioned.isEmpty else { throw TrainingError("--data \(data): no samples with an image") }
        return captioned
    }

    /// Captions of images [B, 3, H, W] (sampled when `sampling` is given, else greedy when `beams` is 1, else beam
    /// search): the text between the start and end tokens of each generated row.
    func captions(ofImages images: Tensor, beams: Int, sampling: CaptionSampling?) -> [String] {
        let rows = if let sampling { model.sampledCaptions(images: images, limits: limits, sampling: sampling) }
            else if beams == 1 { model.greedyCaptions(images: images, limits: limits) }
            else { model.beamSearchCaptions(images: images, limits: limits, beams: beams).map(\.tokens) }
        return rows.map { vocabulary.text(of: $0, padTokenId: limits.padTokenId) }
    }
}
