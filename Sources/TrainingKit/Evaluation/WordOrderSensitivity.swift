import DataPipeline

/// NegCLIP's question of a model (Yuksekgonul et al. 2023): does an image prefer its own caption to the same words in
/// another order? Each validation caption's word-order perturbations (`WordOrderPerturbation`, seed 0, 3 per caption,
/// keyed by the caption) are embedded; an image counts as right when its true caption scores above every one of them.
public enum WordOrderSensitivity {
    public static let metricName = "val_word_order_accuracy"

    /// The share of images, among those whose caption can be reordered, that score their caption above all its
    /// perturbations (a tie counts as wrong); nil when no caption can. Texts are encoded 256 at a time. Features are L2-normalised rows of width `dim`, image i paired with text i.
    public static func accuracy(imageFeatures: [Float], textFeatures: [Float], captions: [String], dim: Int,
                                encodeTexts: ([String]) -> [Float]) -> Double? {
        let perturbation = WordOrderPerturbation(seed: 0, count: 3)
        var owners: [Int] = [], texts: [String] = []
        for (i, caption) in captions.enumerated() {
            for negative in perturbation.negatives(of: caption, key: caption) {
                owners.append(i)
                texts.append(negative)
            }
        }
        guard !texts.isEmpty else { return nil }
        let negatives = stride(from: 0, to: texts.count, by: 256).flatMap { encodeTexts(Array(texts[$0..<min($0 + 256, texts.count)])) }
        func similarity(_ image: Int, _ features: [Float], _ row: Int) -> Float {
            var s: Float = 0
            for k in 0..<dim { s += imageFeatures[image * dim + k] * features[row * dim + k] }
            return s
        }
        var beaten = Set<Int>()
        for (row, owner) in owners.enumerated() where similarity(owner, negatives, row) >= similarity(owner, textFeatures, owner) {
            beaten.insert(owner)
        }
        let images = Set(owners).count
        return Double(images - beaten.count) / Double(images)
    }
}
