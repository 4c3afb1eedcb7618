import Foundation
import TensorCore

/// The contrastive losses, as pure functions of this rank's features, every rank's (gathered) features
/// and the rank: OpenCLIP's `ClipLoss(local_loss=True, gather_with_grad=True)` and `SigLipLoss`.
///
/// Logits are computed in column tiles of at most `tileElements` entries with the log-sum-exp
/// accumulated per row, forward and backward, so memory is O(local batch × tile), never O(N²).
/// The returned loss is on the tape; its backward gives gradients for the local features, the
/// gathered features (which the caller sends back to their owners) and the scalars.
public enum ContrastiveLoss {
    /// Default tile budget: 4M logits (16 MB) per tile.
    public static let defaultTileElements = 1 << 22

    /// The symmetric InfoNCE loss of CLIP for this rank's rows.
    ///
    /// logits_per_image = s · I_local · T_allᵀ, logits_per_text = s · T_local · I_allᵀ with s = exp(logitScale),
    /// labels = rank · B + arange(B); loss = (CE(logits_per_image) + CE(logits_per_text)) / 2.
    /// - Parameters: `localImage`, `localText` [B, D]; `gatheredImage`, `gatheredText` [N, D] (rank r's rows at
    ///   r·B ..< (r+1)·B; with one rank pass the local tensors); `logitScale`: the 0-d log-space parameter.
    public static func clip(localImage: Tensor, localText: Tensor, gatheredImage: Tensor, gatheredText: Tensor,
                            logitScale: Tensor, rank: Int, tileElements: Int = defaultTileElements) -> Tensor {
        let evaluation = ClipLossEvaluation(localImage: localImage, localText: localText, gatheredImage: gatheredImage,
                                            gatheredText: gatheredText, logitScale: logitScale.scalar, rank: rank,
                                            tileElements: tileElements)
        return Tensor.customOperation(name: "clipLoss", inputs: [localImage, localText, gatheredImage, gatheredText, logitScale],
                             output: Tensor(scalar: evaluation.loss)) { g in
            let d = evaluation.gradients(scaledBy: g.scalar)
            return [d.localImage, d.localText, d.gatheredImage, d.gatheredText, Tensor(scalar: d.logitScale)]
        }
    }

    /// OpenCLIP's SigLIP loss for this rank's images against every rank's texts:
    /// −Σ log σ(y_ij (s · I_i · T_j + bias)) / B with y_ij = 1 on the rank's own pairs and −1 elsewhere.
    public static func sigLIP(localImage: Tensor, gatheredText: Tensor, logitScale: Tensor, logitBias: Tensor,
                              rank: Int, tileElements: Int = defaultTileElements) -> Tensor {
        let evaluation = SigLIPLossEvaluation(localImage: localImage, gatheredText: gatheredText, logitScale: logitScale.scalar,
                                              logitBias: logitBias.scalar, rank: rank, tileElements: tileElements)
        return Tensor.customOperation(name: "sigLIPLoss", inputs: [localImage, gatheredText, logitScale, logitBias],
                             output: Tensor(scalar: evaluation.loss)) { g in
            let d = evaluation.gradients(scaledBy: g.scalar)
            return [d.localImage, d.gatheredText, Tensor(scalar: d.logitScale), Tensor(scalar: d.logitBias)]
        }
    }
}

/// The SigLIP loss of one rank and its gradients, outside the tape (see `ClipLossEvaluation`).
public struct SigLIPLossEvaluation {
    let logits: TiledLogits
    let bias: Float
    public let loss: Float

    public struct Gradients {
        public let localImage: Tensor, gatheredText: Tensor
        public let logitScale: Float, logitBias: Float
    }

    public init(localImage: Tensor, gatheredText: Tensor, logitScale: Float, logitBias: Float, rank: Int,
                tileElements: Int = ContrastiveLoss.defaultTileElements) {
        let b = localImage.shape[0], n = gatheredText.shape[0]
        precondition(localImage.rank == 2 && gatheredText.rank == 2 && localImage.shape[1] == gatheredText.shape[1],
                     "siglip loss: local images \(localImage.shape) and gathered texts \(gatheredText.shape) do not fit")
        precondition((rank + 1) * b <= n, "siglip loss: rank \(rank) with local batch \(b) exceeds \(n) gathered rows")
        let tile = max(1, min(n, tileElements / max(b, 1)))
        logits = TiledLogits(rows: localImage, columns: gatheredText, scale: Foundation.exp(logitScale), labelOffset: rank * b, tile: tile)
        bias = logitBias
        loss = Float(logits.sigmoidLoss(bias: logitBias) / Double(b))
    }

    public func gradients(scaledBy scale: Float = 1) -> Gradients {
        let dImage = Tensor.zeros(logits.rows.shape), dText = Tensor.zeros(logits.columns.shape)
        let (dLogScale, dBias) = logits.sigmoidLossBackward(bias: bias, weight: scale / Float(logits.b), dRows: dImage, dColumns: dText)
        return Gradients(localImage: dImage, gatheredText: dText, logitScale: Float(dLogScale), logitBias: Float(dBias))
    }
}

/// The CLIP loss of one rank and, on request, its gradients, outside the tape: the trainer sends the
/// gathered-feature gradients back to their owners before back-propagating through the towers.
/// With a `HardNegativeWeighting` other than plain InfoNCE, both directions are HN-NCE's instead; without one, or
/// with α = 1, β = 0 and no debiasing, the cross-entropy code runs untouched. Mined hard-negative captions
/// (`extraTextColumns`, NegCLIP) are extra columns of the image→text direction only: negatives of every image, never
/// anyone's label, and never rows of the text→image direction; mined hard-negative images (`extraImageColumns`) are
/// the symmetric counterpart, extra columns of the text→image direction only.
public struct ClipLossEvaluation {
    let imageRows: TiledLogits, textRows: TiledLogits
    /// Both directions' HN-NCE rows; nil for CLIP's own cross-entropy.
    let hardNegatives: (image: HardNegativeRows, text: HardNegativeRows)?
    /// The loss value of this rank's rows.
    public let loss: Float
    /// Rows of the gathered features (the columns before any extra ones).
    let gatheredRows: Int

    /// Gradients of `scale` × loss.
    public struct Gradients {
        public let localImage: Tensor, localText: Tensor, gatheredImage: Tensor, gatheredText: Tensor
        /// With respect to the log-space `logit_scale` parameter.
        public let logitScale: Float
        /// Of the extra text and image columns, when there are any.
        public var extraText: Tensor? = nil, extraImage: Tensor? = nil

        /// The gradients of the sum of two losses of the same features.
        public static func + (a: Gradients, b: Gradients) -> Gradients {
            func sum(_ x: Tensor?, _ y: Tensor?) -> Tensor? {
                switch (x, y) {
                case let (x?, y?): x + y
                case let (x, y): x ?? y
                }
            }
            return Gradients(localImage: a.localImage + b.localImage, localText: a.localText + b.localText, gatheredImage: a.gatheredImage + b.gatheredImage,
                             gatheredText: a.gatheredText + b.gatheredText, logitScale: a.logitScale + b.logitScale,
                             extraText: sum(a.extraText, b.extraText), extraImage: sum(a.extraImage, b.extraImage))
        }
    }

    /// Evaluates the loss (see `ContrastiveLoss.clip`); `logitScale` is the log-space value. Every rank has every
    /// column, so each row's hard-negative weights are normalised over the whole global batch. `extraTextColumns` [M, D]:
    /// mined negative captions every local image is contrasted with, after the gathered texts (nil or M = 0: none);
    /// `extraImageColumns` [M', D]: mined negative images every local caption is contrasted with, after the gathered images.
    public init(localImage: Tensor, localText: Tensor, gatheredImage: Tensor, gatheredText: Tensor,
                logitScale: Float, rank: Int, tileElements: Int = ContrastiveLoss.defaultTileElements,
                hardNegatives weighting: HardNegativeWeighting? = nil, extraTextColumns: Tensor? = nil, extraImageColumns: Tensor? = nil) {
        let b = localImage.shape[0], d = localImage.shape[1], n = gatheredImage.shape[0]
        gatheredRows = n
        precondition(localImage.shape == localText.shape && gatheredImage.shape == gatheredText.shape && gatheredImage.shape[1] == d,
                     "clip loss: local features \(localImage.shape)/\(localText.shape) and gathered \(gatheredImage.shape)/\(gatheredText.shape) do not fit")
        precondition((rank + 1) * b <= n, "clip loss: rank \(rank) with local batch \(b) exceeds \(n) gathered rows")
        let scale = Foundation.exp(logitScale)
        /// The gathered columns followed by the extra ones.
        func columns(_ gathered: Tensor, _ extra: Tensor?, _ kind: String) -> Tensor {
            guard let extra, extra.shape[0] > 0 else { return gathered }
            precondition(extra.rank == 2 && extra.shape[1] == d, "clip loss: extra \(kind) columns \(extra.shape) do not fit features of width \(d)")
            return Tensor(shape: [n + extra.shape[0], d], values: gathered.values + extra.values)
        }
        let textColumns = columns(gatheredText, extraTextColumns, "text"), imageColumns = columns(gatheredImage, extraImageColumns, "image")
        imageRows = TiledLogits(rows: localImage, columns: textColumns, scale: scale, labelOffset: rank * b,
                                tile: max(1, min(textColumns.shape[0], tileElements / max(b, 1))))
        textRows = TiledLogits(rows: localText, columns: imageColumns, scale: scale, labelOffset: rank * b,
                               tile: max(1, min(imageColumns.shape[0], tileElements / max(b, 1))))
        if let weighting, !weighting.isPlainInfoNCE {
            let hard = (image: HardNegativeRows(logits: imageRows, weighting: weighting), text: HardNegativeRows(logits: textRows, weighting: weighting))
            hardNegatives = hard
            loss = Float((hard.image.meanLoss + hard.text.meanLoss) / 2)
        } else {
            hardNegatives = nil
            loss = Float((imageRows.crossEntropy() + textRows.crossEntropy()) / 2)
        }
    }

    /// The gradients of `scale` × loss (tiles recomputed; memory O(local batch × tile)).
    public func gradients(scaledBy scale: Float = 1) -> Gradients {
        let weight = scale / 2
        let dLocalImage = Tensor.zeros(imageRows.rows.shape), dLocalText = Tensor.zeros(textRows.rows.shape)
        let dGatheredImage = Tensor.zeros(textRows.columns.shape), dGatheredText = Tensor.zeros(imageRows.columns.shape)
        var dLogScale: Double = 0
        if let hard = hardNegatives {
            dLogScale += hard.image.backward(weight: weight, dRows: dLocalImage, dColumns: dGatheredText)
            dLogScale += hard.text.backward(weight: weight, dRows: dLocalText, dColumns: dGatheredImage)
        } else {
            dLogScale += imageRows.crossEntropyBackward(weight: weight, dRows: dLocalImage, dColumns: dGatheredText)
            dLogScale += textRows.crossEntropyBackward(weight: weight, dRows: dLocalText, dColumns: dGatheredImage)
        }
        // The gathered part of each column gradient, and the extra columns' after it.
        let n = gatheredRows, d = textRows.d
        func split(_ gradient: Tensor) -> (gathered: Tensor, extra: Tensor?) {
            guard gradient.shape[0] > n else { return (gradient, nil) }
            let values = gradient.values
            return (Tensor(shape: [n, d], values: Array(values[..<(n * d)])),
                    Tensor(shape: [gradient.shape[0] - n, d], values: Array(values[(n * d)...])))
        }
        let text = split(dGatheredText), image = split(dGatheredImage)
        return Gradients(localImage: dLocalImage, localText: dLocalText, gatheredImage: image.gathered, gatheredText: text.gathered,
                         logitScale: Float(dLogScale), extraText: text.extra, extraImage: image.extra)
    }
}

/// scale · rows · columnsᵀ, produced one column tile at a time; row i's label is column labelOffset + i.
struct TiledLogits {
    let rows: Tensor, columns: Tensor
    let scale: Float
    let labelOffset: Int
    let tile: Int
    var b: Int { rows.shape[0] }
    var n: Int { columns.shape[0] }
    var d: Int { rows.shape[1] }
    /// Per-row log-sum-exp, filled by `crossEntropy()` for the backward pass.
    let logSumExp: TensorStorage

    init(rows: Tensor, columns: Tensor, scale: Float, labelOffset: Int, tile: Int) {
        self.rows = rows
        self.columns = columns
        self.scale = scale
        self.labelOffset = labelOffset
        self.tile = tile
        logSumExp = TensorStorage(capacity: rows.shape[0])
    }

    /// Calls `body(start, width, logits)` for each column tile with the tile's [B, width] logits.
    func forEachTile(_ buffer: UnsafeMutablePointer<Float>, _ body: (Int, Int, UnsafeMutablePointer<Float>) -> Void) {
        var start = 0
        while start < n {
            let width = min(tile, n - start)
            fillTile(start: start, width: width, buffer)
            body(start, width, buffer)
            start += width
        }
    }

    /// The [B, width] logits of columns start ..< start + width.
    func fillTile(start: Int, width: Int, _ buffer: UnsafeMutablePointer<Float>) {
        BLAS.gemm(transposeA: false, transposeB: true, m: b, n: width, k: d, alpha: scale,
                  a: rows.pointer, lda: d, b: columns.pointer + start * d, ldb: d, c: buffer, ldc: width)
    }

    /// Given the [B, width] gradient of the loss with respect to one tile's logits, adds
    /// d rows += scale · dlogits · columns_tile and d columns_tile += scale · dlogitsᵀ · rows.
    func addTileGradients(start: Int, width: Int, dLogits: UnsafeMutablePointer<Float>, dRows: Tensor, dColumns: Tensor) {
        BLAS.gemm(transposeA: false, transposeB: false, m: b, n: d, k: width, alpha: scale,
                  a: dLogits, lda: width, b: columns.pointer + start * d, ldb: d,
                  beta: 1, c: dRows.storage.pointer, ldc: d)
        BLAS.gemm(transposeA: true, transposeB: false, m: width, n: d, k: b, alpha: scale,
                  a: dLogits, lda: width, b: rows.pointer, ldb: d,
                  beta: 1, c: dColumns.storage.pointer + start * d, ldc: d)
    }

    /// scale · rows_i · columns_label(i).
    func labelLogit(_ i: Int) -> Float {
        var s: Float = 0
        let r = rows.pointer + i * d, c = columns.pointer + (labelOffset + i) * d
        for k in 0..<d { s += r[k] * c[k] }
        return s * scale
    }

    /// Mean over rows of the cross-entropy against the labels; saves the per-row log-sum-exp.
    func crossEntropy() -> Double {
        let lse = computeLogSumExp()
        var total: Double = 0
        for i in 0..<b { total += lse[i] - Double(labelLogit(i)) }
        return total / Double(max(b, 1))
    }

    /// Mean over rows of the cross-entropy from the softmax of `target`'s row (same rows and columns in another space:
    /// a teacher's) to this row's: log-sum-exp minus the target-weighted mean logit. Saves both log-sum-exps.
    func crossEntropy(target: TiledLogits) -> Double {
        precondition(target.b == b && target.n == n && target.tile == tile, "soft cross-entropy: target logits \(target.b)×\(target.n) do not fit \(b)×\(n)")
        let lse = computeLogSumExp()
        target.computeLogSumExp()
        let buffer = TensorStorage(capacity: b * min(tile, n)), targetBuffer = TensorStorage(capacity: b * min(tile, n))
        var expected = [Double](repeating: 0, count: b)
        forEachTile(buffer.pointer) { start, width, logits in
            target.fillTile(start: start, width: width, targetBuffer.pointer)
            for i in 0..<b {
                let row = logits + i * width, targetRow = targetBuffer.pointer + i * width, targetLSE = target.logSumExp.pointer[i]
                var acc: Double = 0
                for j in 0..<width { acc += Double(Foundation.exp(targetRow[j] - targetLSE)) * Double(row[j]) }
                expected[i] += acc
            }
        }
        var total: Double = 0
        for i in 0..<b { total += lse[i] - expected[i] }
        return total / Double(max(b, 1))
    }

    /// Each row's log-sum-exp over every column (online, tile by tile), also kept in `logSumExp` for backward.
    @discardableResult
    func computeLogSumExp() -> [Double] {
        let buffer = TensorStorage(capacity: b * min(tile, n))
        let runningMax = [Float](repeating: -.infinity, count: b)
        var maxima = runningMax, sums = [Double](repeating: 0, count: b)
        forEachTile(buffer.pointer) { _, width, logits in
            for i in 0..<b {
                let row = logits + i * width
                var m = maxima[i]
                for j in 0..<width { m = max(m, row[j]) }
                // Rescale the running sum to the new maximum (online log-sum-exp).
                var s = sums[i] * Foundation.exp(Double(maxima[i] - m))
                if maxima[i] == -.infinity { s = 0 }
                for j in 0..<width { s += Double(Foundation.exp(row[j] - m)) }
                maxima[i] = m
                sums[i] = s
            }
        }
        let lse = (0..<b).map { Double(maxima[$0]) + Foundation.log(sums[$0]) }
        for i in 0..<b { logSumExp.pointer[i] = Float(lse[i]) }
        return lse
    }

    /// Adds weight · d(mean CE)/d rows and /d columns into the given tensors; returns d/d log-scale. The target is the
    /// labels, or the softmax of `target`'s rows after `crossEntropy(target:)` (no gradient flows into a target).
    func crossEntropyBackward(weight: Float, dRows: Tensor, dColumns: Tensor, target: TiledLogits? = nil) -> Double {
        let perRow = weight / Float(max(b, 1))
        let buffer = TensorStorage(capacity: b * min(tile, n))
        let targetBuffer = target.map { _ in TensorStorage(capacity: b * min(tile, n)) }
        var dLogScale: Double = 0
        forEachTile(buffer.pointer) { start, width, logits in
            // dlogits = perRow · (softmax − target); a one-hot target is subtracted below, outside the tiles.
            if let target, let targetBuffer { target.fillTile(start: start, width: width, targetBuffer.pointer) }
            for i in 0..<b {
                let row = logits + i * width, lse = logSumExp.pointer[i]
                var acc: Double = 0
                if let target, let targetBuffer {
                    let targetRow = targetBuffer.pointer + i * width, targetLSE = target.logSumExp.pointer[i]
                    for j in 0..<width {
                        let g = perRow * (Foundation.exp(row[j] - lse) - Foundation.exp(targetRow[j] - targetLSE))
                        acc += Double(g * row[j])
                        row[j] = g
                    }
                } else {
                    for j in 0..<width {
                        let g = perRow * Foundation.exp(row[j] - lse)
                        acc += Double(g * row[j])
                        row[j] = g
                    }
                }
                dLogScale += acc
            }
            addTileGradients(start: start, width: width, dLogits: logits, dRows: dRows, dColumns: dColumns)
        }
        guard target == nil else { return dLogScale }
        let r = rows.pointer, c = columns.pointer
        let dr = dRows.storage.pointer, dc = dColumns.storage.pointer
        for i in 0..<b {
            let label = labelOffset + i
            dLogScale -= Double(perRow * labelLogit(i))
            for k in 0..<d {
                dr[i * d + k] -= perRow * scale * c[label * d + k]
                dc[label * d + k] -= perRow * scale * r[i * d + k]
            }
        }
        return dLogScale
    }

    /// Σ_ij −log σ(y_ij (logit_ij + bias)) with y = +1 at the labels and −1 elsewhere.
    func sigmoidLoss(bias: Float) -> Double {
        let buffer = TensorStorage(capacity: b * min(tile, n))
        var total: Double = 0
        forEachTile(buffer.pointer) { start, width, logits in
            for i in 0..<b {
                let row = logits + i * width
                for j in 0..<width {
                    let y: Float = start + j == labelOffset + i ? 1 : -1
                    total -= Double(logSigmoid(y * (row[j] + bias)))
                }
            }
        }
        return total
    }

    /// Adds weight · the gradient of `sigmoidLoss` into dRows/dColumns; returns (d/d log-scale, d/d bias).
    func sigmoidLossBackward(bias: Float, weight: Float, dRows: Tensor, dColumns: Tensor) -> (Double, Double) {
        let buffer = TensorStorage(capacity: b * min(tile, n))
        var dLogScale: Double = 0, dBias: Double = 0
        forEachTile(buffer.pointer) { start, width, logits in
            for i in 0..<b {
                let row = logits + i * width
                for j in 0..<width {
                    let y: Float = start + j == labelOffset + i ? 1 : -1
                    // d/dz −log σ(y z) = −y σ(−y z)
                    let g = -weight * y / (1 + Foundation.exp(y * (row[j] + bias)))
                    dLogScale += Double(g * row[j])
                    dBias += Double(g)
                    row[j] = g
                }
            }
            addTileGradients(start: start, width: width, dLogits: logits, dRows: dRows, dColumns: dColumns)
        }
        return (dLogScale, dBias)
    }

    private func logSigmoid(_ x: Float) -> Float { min(x, 0) - Foundation.log1p(Foundation.exp(-abs(x))) }
}

extension Parameter {
    /// Clamps a log-space contrastive temperature to [0, ln 100], as OpenCLIP's trainer does after every optimizer step.
    public func clampAsLogitScale() {
        pointer.pointee = min(max(pointer.pointee, 0), Float(4.605_170_185_988_092))
    }
}
