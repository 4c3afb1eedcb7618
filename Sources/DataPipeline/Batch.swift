/// One rank's share of a global batch, as plain buffers ready to copy into tensors.
public struct Batch: Sendable {
    /// Index of the global batch within this loader's run (0 = the batch starting at the loader's start position).
    public var index: Int
    /// Samples in this batch (the per-rank batch size in training; may be smaller, even 0, at the end of evaluation).
    public var count: Int
    /// `count × 3 × imageSize × imageSize`, planar RGB, CLIP-normalised.
    public var images: [Float]
    /// `count × contextLength` token ids from the tokenizer.
    public var tokens: [Int32]
    public var captions: [String]
    /// Global position of each slot in the epoch order (the index that seeds its augmentation).
    public var sampleIndices: [Int]
    /// Class labels for labelled sources, -1 otherwise.
    public var labels: [Int]
    /// Which sample actually filled each slot (shard:key or file path); differs from the slot's own sample when substituted.
    public var keys: [String]
    /// Undecodable/missing samples met while building this batch (replaced in training, dropped in evaluation).
    public var skipped: Int
    public var imageSize: Int
    public var contextLength: Int
}
