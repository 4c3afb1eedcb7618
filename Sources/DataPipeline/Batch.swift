/// One rank's share of a global batch, as plain buffers ready to copy into tensors.
public struct Batch: Sendable {
    /// Index of the global batch within this loader's run (0 = the batch starting at the loader's start position).
    public var index: Int
    /// Samples in this batch (the per-rank batch size in training; may be smaller, even 0, at the end of evaluation).
    public var count: Int
    /// Every loaded field's content, one entry per sample.
    public var fields: BatchFields
    /// Global position of each slot in the epoch order (the index that seeds its augmentation).
    public var sampleIndices: [Int]
    /// Which sample actually filled each slot (shard:key or file path); differs from the slot's own sample when substituted.
    public var keys: [String]
    /// Undecodable/missing samples met while building this batch (replaced in training, dropped in evaluation).
    public var skipped: Int
    public var imageSize: Int
    public var contextLength: Int
    /// The shape of every audio field's rows: `melBins × audioFrames` (`LoaderOptions.audio`).
    public var melBins = 0, audioFrames = 0

    public init(index: Int, count: Int, fields: BatchFields, sampleIndices: [Int], keys: [String], skipped: Int,
                imageSize: Int, contextLength: Int) {
        self.index = index
        self.count = count
        self.fields = fields
        self.sampleIndices = sampleIndices
        self.keys = keys
        self.skipped = skipped
        self.imageSize = imageSize
        self.contextLength = contextLength
    }

    // The image-text view every consumer used before fields existed; the same buffers as `fields`, not copies.

    /// `count × 3 × imageSize × imageSize`, planar RGB, CLIP-normalised: the `image` field ([] without one).
    public var images: [Float] {
        get { fields.images[.image] ?? [] }
        set { fields.images[.image] = newValue }
    }

    /// `count × contextLength` token ids of the `text` field ([] without one).
    public var tokens: [Int32] {
        get { fields.tokens[.text] ?? [] }
        set { fields.tokens[.text] = newValue }
    }

    /// The `text` field's strings ([] without one).
    public var captions: [String] {
        get { fields.texts[.text] ?? [] }
        set { fields.texts[.text] = newValue }
    }

    /// Class labels of the `label` field, -1 for every sample without one.
    public var labels: [Int] {
        get { fields.labels[.label] ?? [Int](repeating: -1, count: count) }
        set { fields.labels[.label] = newValue }
    }
}

/// A batch's content per field, each array holding one entry (or one fixed-size row) per sample, in slot order.
public struct BatchFields: Sendable {
    /// Image fields: `count × 3 × size × size` planar RGB floats, transformed and normalised.
    public var images: [SampleField: [Float]] = [:]
    /// Text fields: `count × contextLength` token ids.
    public var tokens: [SampleField: [Int32]] = [:]
    /// Text fields: the strings that were tokenised.
    public var texts: [SampleField: [String]] = [:]
    /// Single-label fields: one class index per sample.
    public var labels: [SampleField: [Int]] = [:]
    /// Multi-label fields: the class indices of each sample (see `multiHot`).
    public var labelSets: [SampleField: [[Int]]] = [:]
    /// Audio fields: `count × melBins × frames` floats, normalised log-mel filter banks (`AudioTransform`).
    public var spectrograms: [SampleField: [Float]] = [:]
    /// Byte fields (JSON, extra fields), undecoded.
    public var bytes: [SampleField: [[UInt8]]] = [:]

    public init() {}

    /// A multi-label field as `samples × classCount` rows of 0 and 1; an index outside 0..<classCount throws.
    public func multiHot(_ field: SampleField = .labels, classCount: Int) throws -> [Float] {
        guard let sets = labelSets[field] else { throw DataPipelineError.invalidOption("the batch has no multi-label field '\(field.name)'") }
        var rows = [Float](repeating: 0, count: sets.count * classCount)
        for (sample, indices) in sets.enumerated() {
            for index in indices {
                guard (0..<classCount).contains(index) else {
                    throw DataPipelineError.invalidOption("field '\(field.name)' has class index \(index), outside 0..<\(classCount)")
                }
                rows[sample * classCount + index] = 1
            }
        }
        return rows
    }
}
