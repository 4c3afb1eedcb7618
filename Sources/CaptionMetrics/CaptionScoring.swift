/// One image to score: its reference captions and the candidate, as raw text (normalised by `CaptionNormalization`,
/// which leaves already normalised text unchanged).
public struct CaptionExample: Sendable, Equatable {
    public var id: String
    public var references: [String]
    public var candidate: String

    public init(id: String, references: [String], candidate: String) {
        self.id = id
        self.references = references
        self.candidate = candidate
    }
}

/// One image's scores.
public struct CaptionImageScores: Sendable {
    public var id: String
    /// BLEU-1..4 on this image's counts alone.
    public var bleu: [Double]
    public var bleuCounts: BLEUCounts
    public var cider: Double
    /// CIDEr-D's term for n = 1..4; their mean is `cider`.
    public var ciderTermsByOrder: [Double]
}

/// A corpus's scores: corpus-level BLEU (counts summed over images, not averaged scores), CIDEr-D (the mean of the images').
public struct CaptionCorpusScores: Sendable {
    public var bleu: [Double]
    public var bleuCounts: BLEUCounts
    public var cider: Double
    public var images: [CaptionImageScores]

    public var bleu4: Double { bleu[3] }
}

public enum CaptionMetricsError: Error, CustomStringConvertible, Equatable {
    case emptyCorpus
    case noReferences(imageID: String)
    case duplicateImage(id: String)

    public var description: String {
        switch self {
        case .emptyCorpus: return "no images to score"
        case .noReferences(let id): return "image \(id) has no reference caption"
        case .duplicateImage(let id): return "image id \(id) appears more than once"
        }
    }
}

/// BLEU-1..4 and CIDEr-D of caption corpora, equal to pycocoevalcap's `Bleu(4)` and `Cider()` on the same words.
public enum CaptionMetrics {
    /// Scores one corpus. CIDEr-D's document frequencies come from this corpus's references, so a corpus scored in parts
    /// gets other CIDEr-D values than scored whole (and a one-image corpus always scores 0).
    public static func score(_ examples: [CaptionExample]) throws -> CaptionCorpusScores {
        guard !examples.isEmpty else { throw CaptionMetricsError.emptyCorpus }
        var seen = Set<String>()
        for example in examples {
            // pycocoevalcap keys images by id: a repeated id would silently replace the earlier image there.
            guard seen.insert(example.id).inserted else { throw CaptionMetricsError.duplicateImage(id: example.id) }
            guard !example.references.isEmpty else { throw CaptionMetricsError.noReferences(imageID: example.id) }
        }
        let candidates = examples.map { CaptionNGrams(words: CaptionNormalization.words($0.candidate)) }
        let references = examples.map { $0.references.map { CaptionNGrams(words: CaptionNormalization.words($0)) } }
        let cider = CIDErD(referencesOfEachImage: references)
        var images: [CaptionImageScores] = []
        for (index, example) in examples.enumerated() {
            let counts = BLEUCounts(candidate: candidates[index], references: references[index])
            let imageCIDEr = cider.score(candidate: candidates[index], references: references[index])
            images.append(CaptionImageScores(id: example.id, bleu: counts.scores, bleuCounts: counts,
                                             cider: imageCIDEr.score, ciderTermsByOrder: imageCIDEr.termsByOrder))
        }
        let corpusCounts = images.map(\.bleuCounts).reduce(BLEUCounts.zero, +)
        return CaptionCorpusScores(bleu: corpusCounts.scores, bleuCounts: corpusCounts,
                                   cider: images.map(\.cider).reduce(0, +) / Double(images.count), images: images)
    }
}
