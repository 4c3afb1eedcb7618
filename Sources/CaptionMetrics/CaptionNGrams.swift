/// The 1- to 4-gram counts of one caption, which both BLEU and CIDEr-D read.
struct CaptionNGrams {
    /// BLEU-1..4 and CIDEr-D's n = 4 of the COCO caption evaluation.
    static let maxOrder = 4

    let wordCount: Int
    /// `countsByOrder[n - 1]` maps each n-gram, its words joined by one space, to its count. Words never contain a space,
    /// so the joined key names one n-gram only.
    let countsByOrder: [[String: Int]]
    /// `gramsByOrder[n - 1]`: each n-gram once, in the order it first appears. Sums of weights run in this order (that of
    /// pycocoevalcap's dictionaries) instead of a dictionary's, which changes from process to process, so a score is the
    /// same in every run.
    let gramsByOrder: [[String]]

    init(words: [String]) {
        wordCount = words.count
        var counts = [[String: Int]](repeating: [:], count: Self.maxOrder)
        var grams = [[String]](repeating: [], count: Self.maxOrder)
        for order in 1...Self.maxOrder where words.count >= order {
            for start in 0...(words.count - order) {
                let gram = words[start..<(start + order)].joined(separator: " ")
                if counts[order - 1][gram] == nil { grams[order - 1].append(gram) }
                counts[order - 1][gram, default: 0] += 1
            }
        }
        countsByOrder = counts
        gramsByOrder = grams
    }
}
