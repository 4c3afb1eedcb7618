import CLIP
import Foundation
import TensorCore

/// A `swiftclip embed` folder read as a distillation teacher (`--distill-embeddings`): every sample's image and caption
/// embeddings, looked up by sample key, each file checked against its shard record.
public final class TeacherEmbeddings: PrecomputedEmbeddings {
    public let directory: String
    public let dimension: Int
    let images: [Float], texts: [Float]
    let rowOfKey: [String: Int]

    public init(directory: String) throws {
        self.directory = directory
        let collection = try EmbeddingCollection(directory: directory, includeTexts: true)
        guard let texts = collection.texts else {
            throw RetrievalError("\(directory): has no caption embeddings (embed a data set with captions)")
        }
        var rowOfKey: [String: Int] = [:]
        for (row, metadata) in try EmbeddingMetadataRow.rows(of: directory, manifest: collection.manifest).enumerated() {
            if rowOfKey[metadata.key] == nil { rowOfKey[metadata.key] = row }
        }
        dimension = collection.manifest.dimension
        images = collection.images
        self.texts = texts
        self.rowOfKey = rowOfKey
    }

    public func embeddings(keys: [String]) throws -> (image: Tensor, text: Tensor) {
        var image = [Float](), text = [Float]()
        image.reserveCapacity(keys.count * dimension)
        text.reserveCapacity(keys.count * dimension)
        for key in keys {
            guard let row = rowOfKey[key] else {
                throw RetrievalError("\(directory): no embedding of sample \(key) (embed the training data itself)")
            }
            image += images[(row * dimension)..<((row + 1) * dimension)]
            text += texts[(row * dimension)..<((row + 1) * dimension)]
        }
        return (Tensor(shape: [keys.count, dimension], values: image), Tensor(shape: [keys.count, dimension], values: text))
    }
}
