import NN

/// Multiply-adds of CLIP's forward pass, the basis of the GFLOP/s figures of benchmarks.
extension CLIPConfig {
    /// Forward multiply-adds per sample the model computes, the basis of GFLOP/s figures (a training step is 3 × 2 × this).
    ///
    /// Each tower's last block computes queries, attention, its output projection and MLP for the pooled row only
    /// (`keepingRows`), so those products count once per sample, not once per token. `architectureMACsPerSample`
    /// counts them for every token.
    public var forwardMACsPerSample: Double { forwardMACs(lastBlockRowsPerSample: 1) }

    /// Forward multiply-adds per sample of the architecture computed in full, every block on every token: what
    /// OpenCLIP computes, and the count its GFLOP/s figures use (`shared/peer`: 2.863 GFLOP per clip-bench sample).
    public var architectureMACsPerSample: Double { forwardMACs(lastBlockRowsPerSample: nil) }

    /// `forwardMACsPerSample` of a training forward under `--force-patch-dropout p`: the image tower's blocks run on the
    /// class token and the kept patches, and only the kept patches are embedded. With `captionLengths`, a batch's
    /// positions up to and including each caption's end-of-text token, the text tower runs as it does on that batch:
    /// each `CaptionLengthGroups` group as far as its longest caption, the MLPs up to each caption's end; nil: every
    /// position, as for captions that fill the context.
    public func forwardMACsPerSample(patchDropout p: Double, captionLengths: [Int]? = nil) -> Double {
        let dropout = PatchDropout(probability: p)
        return forwardMACs(lastBlockRowsPerSample: 1, visionTokens: dropout.isActive ? 1 + dropout.keptPatchCount(patches: vision.tokens - 1) : nil,
                           captionLengths: captionLengths)
    }

    /// `forwardMACsPerSample` split by tower (each with its projection): the share of backward each takes. With
    /// `captionLengths`, the text tower's as it runs on a batch of captions of those lengths (see above).
    public func forwardMACsPerTower(captionLengths: [Int]? = nil) -> (image: Double, text: Double) {
        towerMACs(lastBlockRowsPerSample: 1, captionLengths: captionLengths)
    }

    private func forwardMACs(lastBlockRowsPerSample: Double?, visionTokens: Int? = nil, captionLengths: [Int]? = nil) -> Double {
        let towers = towerMACs(lastBlockRowsPerSample: lastBlockRowsPerSample, visionTokens: visionTokens, captionLengths: captionLengths)
        return towers.image + towers.text
    }

    private func towerMACs(lastBlockRowsPerSample: Double?, visionTokens: Int? = nil, captionLengths: [Int]? = nil) -> (image: Double, text: Double) {
        let v = vision, t = text, e = Double(embedDim)
        func tower(tokens: Double, layers: Int, width: Double, mlp: Double, mlpRows: Double? = nil) -> Double {
            func block(rows: Double, mlpRows: Double) -> Double {
                tokens * 2 * width * width                                        // k, v projections
                    + rows * (width * width + 2 * tokens * width)                   // q projection; q·k and p·v
                    + rows * width * width                                          // out projection
                    + mlpRows * 2 * width * mlp                                     // MLP
            }
            guard layers > 0 else { return 0 }
            let last = lastBlockRowsPerSample ?? tokens
            return Double(layers - 1) * block(rows: tokens, mlpRows: mlpRows ?? tokens) + block(rows: last, mlpRows: last)
        }
        func textTower(tokens: Double, mlpRows: Double? = nil) -> Double {
            tower(tokens: tokens, layers: t.layers, width: Double(t.width), mlp: Double(t.mlpWidth), mlpRows: mlpRows)
        }
        let textMACs: Double
        if let captionLengths, !captionLengths.isEmpty {
            textMACs = CaptionLengthGroups(lengths: captionLengths).groups.reduce(0) { sum, group in
                let meanLength = Double(group.rows.reduce(0) { $0 + captionLengths[$1] }) / Double(group.rows.count)
                return sum + Double(group.rows.count) * textTower(tokens: Double(group.length), mlpRows: meanLength)
            } / Double(captionLengths.count)
        } else {
            textMACs = textTower(tokens: Double(t.contextLength))
        }
        let vt = Double(visionTokens ?? v.tokens)
        return (tower(tokens: vt, layers: v.layers, width: Double(v.width), mlp: Double(v.mlpWidth))
                    + (vt - 1) * Double(3 * v.patchSize * v.patchSize * v.width) + Double(v.width) * e,
                textMACs + Double(t.width) * e)
    }
}
