/// The best `k` hits seen so far, best first; candidates worse than the current k-th are rejected with one comparison.
struct TopHits {
    let k: Int
    private(set) var hits: [SearchHit] = []

    init(k: Int) {
        self.k = k
        hits.reserveCapacity(k + 1)
    }

    /// The score a candidate must reach to enter (when k hits are already held).
    var threshold: Float { hits.count < k ? -.infinity : hits[hits.count - 1].score }

    mutating func offer(_ candidate: SearchHit) {
        guard k > 0, hits.count < k || candidate.ranksBefore(hits[hits.count - 1]) else { return }
        var position = hits.count
        while position > 0 && candidate.ranksBefore(hits[position - 1]) { position -= 1 }
        hits.insert(candidate, at: position)
        if hits.count > k { hits.removeLast() }
    }

    /// Offers the scores of rows `ids` (score `i` for `ids[i]`).
    mutating func offer(scores: UnsafePointer<Float>, ids: (Int) -> Int, count: Int) {
        for i in 0..<count where scores[i] >= threshold { offer(SearchHit(id: ids(i), score: scores[i])) }
    }
}
