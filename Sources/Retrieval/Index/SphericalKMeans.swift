import DataPipeline
import TensorCore

/// k-means for unit vectors under inner product (centroids renormalised after each update), as FAISS trains an
/// inner-product IVF: assignments are one matrix product per block and an arg-max per row.
struct SphericalKMeans {
    let dimension: Int
    let clusters: Int
    var iterations = 12
    /// Training points per cluster at most: more adds time and barely moves the centroids.
    var samplesPerCluster = 64
    var seed: UInt64 = 0

    /// `clusters × dimension` centroids trained on a seeded sample of the `count` rows of `vectors`.
    func train(_ vectors: [Float], count: Int) -> [Float] {
        var rng = SplitMix64(seed: seed)
        var order = Array(0..<count)
        let sampleCount = min(count, clusters * samplesPerCluster)
        rng.shuffleFirst(sampleCount, of: &order)
        var sample = [Float](repeating: 0, count: sampleCount * dimension)
        for (s, row) in order.prefix(sampleCount).enumerated() {
            sample.replaceSubrange((s * dimension)..<((s + 1) * dimension), with: vectors[(row * dimension)..<((row + 1) * dimension)])
        }
        var centroids = Array(sample.prefix(clusters * dimension))  // the sample is a random permutation: its first rows
        for iteration in 0..<iterations {
            let assignment = assign(sample, count: sampleCount, to: centroids)
            var sums = [Float](repeating: 0, count: clusters * dimension), members = [Int](repeating: 0, count: clusters)
            for (row, cluster) in assignment.enumerated() {
                members[cluster] += 1
                for j in 0..<dimension { sums[cluster * dimension + j] += sample[row * dimension + j] }
            }
            for c in 0..<clusters {
                // An empty cluster restarts at a sample point, chosen by position so training stays deterministic.
                let source = members[c] > 0 ? Array(sums[(c * dimension)..<((c + 1) * dimension)])
                    : Array(sample[(((iteration * clusters + c) % sampleCount) * dimension)...].prefix(dimension))
                let norm = max(source.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
                for j in 0..<dimension { centroids[c * dimension + j] = source[j] / norm }
            }
        }
        return centroids
    }

    /// The centroid of highest inner product for each of the `count` rows (ties: the lower centroid).
    func assign(_ vectors: [Float], count: Int, to centroids: [Float]) -> [Int] {
        var assignment = [Int](repeating: 0, count: count)
        let block = 4096
        var scores = [Float](repeating: 0, count: min(block, max(count, 1)) * clusters)
        vectors.withUnsafeBufferPointer { v in
            centroids.withUnsafeBufferPointer { c in
                scores.withUnsafeMutableBufferPointer { s in
                    for first in stride(from: 0, to: count, by: block) {
                        let n = min(block, count - first)
                        BLAS.gemm(transposeA: false, transposeB: true, m: n, n: clusters, k: dimension, a: v.baseAddress! + first * dimension,
                                  lda: dimension, b: c.baseAddress!, ldb: dimension, c: s.baseAddress!, ldc: clusters)
                        for row in 0..<n {
                            var best = 0
                            for cluster in 1..<clusters where s[row * clusters + cluster] > s[row * clusters + best] { best = cluster }
                            assignment[first + row] = best
                        }
                    }
                }
            }
        }
        return assignment
    }
}
