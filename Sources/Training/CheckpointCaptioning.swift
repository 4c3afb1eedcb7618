import CoCa
import DataPipeline
import Foundation
import TensorCore
import Text
import TrainingKit

/// Captions of image files by a CoCa checkpoint (`swiftclip caption`), with the tokenizer its run trained with.
public struct CheckpointCaptioning {
    public let model: CoCaModel
    let limits: CaptionLimits
    let decode: ([Int32]) -> String

    /// Loads `checkpoint`; a checkpoint of another family is an error saying it has no caption decoder.
    public init(checkpoint path: String, minLength: Int, maxLength: Int, messages: (String) -> Void) throws {
        let loaded = try CheckpointModel(path, messages: messages)
        guard let task = loaded.task as? CoCaTask else {
            throw TrainingError("\(path): a \(loaded.family.name) checkpoint has no caption decoder (captions need a coca checkpoint)")
        }
        model = task.model
        let start: Int32, end: Int32
        if let json = task.checkpointAttachment {
            let tokenizer = try TrainedBPETokenizer(jsonData: Data(json.utf8), source: "\(path): the checkpoint's tokenizer")
            (start, end, decode) = (tokenizer.startOfTextID, tokenizer.endOfTextID, tokenizer.decode)
        } else {
            let config = model.config
            let setup = DataSetup(settings: loaded.settings, imageSize: config.vision.imageSize, contextLength: config.text.contextLength,
                                  vocabularySize: config.text.vocabSize, runDirectory: loaded.runDirectory)
            guard let tokenizer = try setup.tokenizer() as? CLIPBPETokenizer else { throw TrainingError("\(path): no tokenizer to decode captions") }
            (start, end, decode) = (CLIPBPETokenizer.startOfTextID, CLIPBPETokenizer.endOfTextID, tokenizer.decode)
        }
        // The text tower has positions for context_length tokens (and the cls token): longer captions cannot be fed back.
        limits = CaptionLimits(startTokenId: start, endTokenId: end, padTokenId: Int32(model.config.text.padId),
                               maxLength: min(maxLength, model.config.text.contextLength + 1), minLength: minLength)
    }

    /// The image files (PNG, JPEG, WebP) in `folder` and its subfolders, sorted by path.
    public static func imageFiles(in folder: String) throws -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: folder) else { throw TrainingError("--images \(folder): not a readable folder") }
        let files = walker.compactMap { $0 as? String }.filter { ["png", "jpg", "jpeg", "webp"].contains(($0 as NSString).pathExtension.lowercased()) }
        guard !files.isEmpty else { throw TrainingError("--images \(folder): no PNG, JPEG or WebP files") }
        return files.sorted().map { folder + "/" + $0 }
    }

    /// One caption per file (greedy when `beams` is 1, else beam search), the text between the start and end tokens.
    public func captions(of files: [String], beams: Int) throws -> [String] {
        let size = model.config.vision.imageSize
        let transform = ImageTransform(mode: .eval, size: size)
        var rng = ImageTransform.augmentationRandom(seed: 0, epoch: 0, position: 0)
        var values: [Float] = []
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else { throw TrainingError("\(file): cannot read file") }
            values += transform.apply(try ImageDecoder.decode([UInt8](data), name: file), rng: &rng)
        }
        let images = Tensor(shape: [files.count, 3, size, size], values: values)
        let rows = beams == 1 ? model.greedyCaptions(images: images, limits: limits)
            : model.beamSearchCaptions(images: images, limits: limits, beams: beams).map(\.tokens)
        return rows.map { row in
            decode(Array(row.dropFirst().prefix { $0 != limits.endTokenId && $0 != limits.padTokenId })).trimmingCharacters(in: .whitespaces)
        }
    }
}
