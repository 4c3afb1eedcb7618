import DataPipeline
import TensorCore
import Text

/// The embeddings of one input unit, in its sample order (unreadable samples dropped).
struct EmbeddedShard {
    /// Image embeddings, when the input has images (recordings alone are embedded for a bound audio tower).
    var images: [Float]?
    /// Caption embeddings, when the input has captions and the model a tokenizer.
    var texts: [Float]?
    /// Recording embeddings, when the input has recordings and the model a bound audio tower.
    var audio: [Float]?
    var metadata: [EmbeddingMetadataRow] = []
    var skipped = 0
}

/// Runs a model over one unit without a tape: the evaluation transform, batches in order, L2-normalised outputs.
struct ShardEmbedder {
    let model: EmbeddingModel
    let batchSize: Int
    let workers: Int
    /// Whether captions are embedded too (they are always kept in the metadata).
    var embedTexts = true

    func embed(_ unit: EmbedUnit) throws -> EmbeddedShard {
        let source = try unit.open()
        let hasImages = source.fields.contains(.image), hasCaptions = source.fields.contains(.text)
        let textInput = model.textInput, audioInput = source.fields.contains(.audio) ? model.audioInput : nil
        let fields = (hasImages ? [SampleField.image] : []) + (hasCaptions ? [.text] : []) + (audioInput == nil ? [] : [.audio])
        var options = LoaderOptions(mode: .evaluation, batchSize: batchSize, transform: ImageTransform(mode: .eval, size: model.imageSize),
                                    contextLength: textInput?.contextLength ?? 1, workers: workers, fields: fields)
        if let audioInput { options.audio = audioInput }
        let loader = try DataLoader(source: source, tokenizer: textInput?.tokenizer ?? CaptionsOnly(), options: options)
        var shard = EmbeddedShard()
        if hasImages { shard.images = [] }
        if hasCaptions && textInput != nil && embedTexts { shard.texts = [] }
        if audioInput != nil { shard.audio = [] }
        let size = model.imageSize
        while let (batch, _) = try loader.next() {
            shard.skipped += batch.skipped
            guard batch.count > 0 else { continue }
            withoutGradients {
                if shard.images != nil { shard.images! += model.embedImages(Tensor(shape: [batch.count, 3, size, size], values: batch.images)).values }
                if shard.texts != nil { shard.texts! += model.embedTexts(batch.tokens).values }
                if let audioInput, let spectrograms = batch.fields.spectrograms[.audio] {
                    shard.audio! += model.embedAudio(Tensor(shape: [batch.count, 1, audioInput.melBins, audioInput.frames], values: spectrograms)).values
                }
            }
            for (slot, key) in batch.keys.enumerated() {
                shard.metadata.append(EmbeddingMetadataRow(key: key, caption: hasCaptions ? batch.captions[slot] : nil, source: unit.sourcePath(key)))
            }
        }
        return shard
    }
}

/// Stands in for a tokenizer when the model has none: captions are still read for the metadata, never embedded.
struct CaptionsOnly: TextTokenizer {
    var vocabularySize: Int { 1 }
    func encode(_ text: String, contextLength: Int) -> [Int32] { [Int32](repeating: 0, count: contextLength) }
}
