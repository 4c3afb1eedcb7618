import Foundation
import TensorCore

/// The HN-NCE loss of one direction's rows (see `HardNegativeWeighting`), computed over the same column tiles as
/// CLIP's cross-entropy, so memory stays O(rows × tile).
///
/// The forward pass accumulates, per row, two online log-sum-exps over the negatives, of β·z and of (1+β)·z; the
/// weighted negative mass is (N−1)·exp(second − first). They also give the gradient: for a negative j,
/// d loss/d z_j = (Neg/D)/(1−τ⁺) · ((1+β)·e^{(1+β)z_j}/Σ e^{(1+β)z} − β·e^{βz_j}/Σ e^{βz}), so backward recomputes the
/// tiles with per-row coefficients only.
struct HardNegativeRows {
    let logits: TiledLogits
    let weighting: HardNegativeWeighting
    /// Mean over rows of the loss.
    let meanLoss: Double
    /// Per row: log Σ_{j≠p} e^{β z_j} and log Σ_{j≠p} e^{(1+β) z_j}.
    private let logWeightSum: [Double], logWeightedMass: [Double]
    /// Per row: d loss/d z_p; the factor (Neg/D)/(1−τ⁺) of every negative's gradient (0 when the debiased floor
    /// holds); d loss/d log-scale through the floor, which depends on the scale itself.
    private let positiveGradient: [Double], negativeFactor: [Double], floorGradient: [Double]

    init(logits: TiledLogits, weighting: HardNegativeWeighting) {
        self.logits = logits
        self.weighting = weighting
        let b = logits.b, n = logits.n
        let beta = weighting.beta
        var weightSums = [TiledLogSumExp](repeating: TiledLogSumExp(factor: beta), count: b)
        var massSums = [TiledLogSumExp](repeating: TiledLogSumExp(factor: 1 + beta), count: b)
        let buffer = TensorStorage(capacity: b * min(logits.tile, n))
        logits.forEachTile(buffer.pointer) { start, width, tile in
            for i in 0..<b {
                let row = tile + i * width, positive = logits.labelOffset + i - start
                weightSums[i].add(row, count: width, skipping: positive)
                massSums[i].add(row, count: width, skipping: positive)
            }
        }
        let negatives = Double(n - 1), tauPlus = weighting.debiasedTauPlus, alpha = weighting.alpha
        let logFloor = tauPlus > 0 && n > 1 ? Foundation.log(negatives) - Double(logits.scale) : -.infinity
        var total: Double = 0
        var positiveGradient = [Double](repeating: 0, count: b), negativeFactor = positiveGradient, floorGradient = positiveGradient
        for i in 0..<b {
            let positive = Double(logits.labelLogit(i))
            let logNegatives = n > 1 ? Foundation.log(negatives) + massSums[i].value - weightSums[i].value : -.infinity
            // Every term relative to the largest, so that nothing overflows.
            let shift = max(positive, logNegatives, logFloor)
            let negativeMass = Foundation.exp(logNegatives - shift), positiveMass = Foundation.exp(positive - shift)
            let floor = Foundation.exp(logFloor - shift)
            let estimate = (negativeMass - tauPlus * negatives * positiveMass) / (1 - tauPlus)
            let floored = tauPlus > 0 && estimate < floor
            let denominator = alpha * positiveMass + (floored ? floor : estimate)
            total += shift + Foundation.log(denominator) - positive
            let positiveInNegatives = floored ? 0 : tauPlus * negatives * positiveMass / (1 - tauPlus)
            positiveGradient[i] = (alpha * positiveMass - positiveInNegatives) / denominator - 1
            negativeFactor[i] = floored ? 0 : negativeMass / ((1 - tauPlus) * denominator)
            floorGradient[i] = floored ? -Double(logits.scale) * floor / denominator : 0
        }
        meanLoss = total / Double(max(b, 1))
        logWeightSum = weightSums.map(\.value)
        logWeightedMass = massSums.map(\.value)
        self.positiveGradient = positiveGradient
        self.negativeFactor = negativeFactor
        self.floorGradient = floorGradient
    }

    /// Adds weight · d(mean loss)/d rows and /d columns into the given tensors; returns d/d log-scale.
    func backward(weight: Float, dRows: Tensor, dColumns: Tensor) -> Double {
        let b = logits.b
        let perRow = Double(weight) / Double(max(b, 1))
        let beta = weighting.beta, mass = 1 + beta
        let buffer = TensorStorage(capacity: b * min(logits.tile, logits.n))
        var dLogScale: Double = 0
        logits.forEachTile(buffer.pointer) { start, width, tile in
            for i in 0..<b {
                let row = tile + i * width, positive = logits.labelOffset + i - start
                let k = perRow * negativeFactor[i], logWeights = logWeightSum[i], logMass = logWeightedMass[i]
                var acc: Double = 0
                for j in 0..<width {
                    let z = Double(row[j])
                    let g: Float
                    if j == positive {
                        g = Float(perRow * positiveGradient[i])
                    } else {
                        let massShare = Foundation.exp(Float(mass * z - logMass)), weightShare = Foundation.exp(Float(beta * z - logWeights))
                        g = Float(k) * (Float(mass) * massShare - Float(beta) * weightShare)
                    }
                    acc += Double(g) * z
                    row[j] = g
                }
                dLogScale += acc
            }
            logits.addTileGradients(start: start, width: width, dLogits: tile, dRows: dRows, dColumns: dColumns)
        }
        for i in 0..<b { dLogScale += perRow * floorGradient[i] }
        return dLogScale
    }
}

/// log Σ_j e^{factor · x_j} over a row that arrives a tile at a time: the sum is kept relative to the running maximum
/// and rescaled when a tile raises it (online log-sum-exp).
struct TiledLogSumExp {
    let factor: Double
    private var maximum = -Double.infinity, sum: Double = 0

    init(factor: Double) { self.factor = factor }

    /// Adds the tile's `count` entries except the one at index `skipping` (the positive, or none when out of range).
    mutating func add(_ row: UnsafePointer<Float>, count: Int, skipping: Int) {
        var tileMaximum = -Double.infinity
        for j in 0..<count where j != skipping { tileMaximum = max(tileMaximum, factor * Double(row[j])) }
        guard tileMaximum > -.infinity else { return }
        let m = max(maximum, tileMaximum)
        var s = maximum == -.infinity ? 0 : sum * Foundation.exp(maximum - m)
        for j in 0..<count where j != skipping { s += Double(Foundation.exp(Float(factor * Double(row[j]) - m))) }
        maximum = m
        sum = s
    }

    /// The log-sum-exp so far; −∞ before any entry.
    var value: Double { sum > 0 ? maximum + Foundation.log(sum) : -.infinity }
}
