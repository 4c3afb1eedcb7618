import TensorCore

/// The second half of OpenCLIP's residual blocks, `x + mlp(ln_2(x))` (keys `ln_2`, `mlp.c_fc`, `mlp.c_proj`), shared by
/// the self-attention and the cross-attention block.
public struct ResidualMLP {
    public let ln2: LayerNorm
    public let fc: Linear
    public let proj: Linear
    public let activation: Activation

    /// Registers `ln_2`, `mlp.c_fc` and `mlp.c_proj` under the block's `builder`.
    public init(_ builder: ParameterBuilder, width: Int, mlpWidth: Int, activation: Activation, initStds: TransformerInitStds? = nil) {
        self.activation = activation
        ln2 = LayerNorm(builder.scope("ln_2"), width: width)
        fc = Linear(builder.scope("mlp.c_fc"), inFeatures: width, outFeatures: mlpWidth, weightInit: initStds.map { .normal(std: $0.fc) })
        proj = Linear(builder.scope("mlp.c_proj"), inFeatures: mlpWidth, outFeatures: width, weightInit: initStds.map { .normal(std: $0.projection) })
    }

    /// Every parameter, in registration order.
    public var parameters: [Parameter] { ln2.parameters + fc.parameters + proj.parameters }

    /// `x + c_proj(act(c_fc(ln_2(x))))` as one operation that works a chunk of rows at a time; with `recomputingHidden`
    /// the hidden layer is recomputed in backward instead of kept (one more `c_fc` product).
    public func callAsFunction(_ x: Tensor, recomputingHidden: Bool = false) -> Tensor {
        Tensor.mlp(x, layerNorm: ln2.prologue, fcWeight: fc.weight.tensor, fcBias: fc.bias?.tensor, activation: activation.prologue,
                   projectionWeight: proj.weight.tensor, projectionBias: proj.bias?.tensor, adding: x, recomputingHidden: recomputingHidden)
    }

    /// The same on the rows `rows` of the flattened [N, W] positions only (nil: all); every other row passes through
    /// unchanged. For rows whose outputs nothing reads (a captioner's positions past its last caption target, which
    /// only later positions of their own sequence attend to), where the MLP would be work without effect.
    public func callAsFunction(_ x: Tensor, recomputingHidden: Bool = false, onlyRows rows: [Int32]?) -> Tensor {
        guard let rows else { return self(x, recomputingHidden: recomputingHidden) }
        if rows.isEmpty { return x }
        let width = x.shape.last ?? 0, flat = x.reshaped([x.count / max(width, 1), width])
        return flat.replacingRows(rows, with: self(flat.gatherRows(rows), recomputingHidden: recomputingHidden)).reshaped(x.shape)
    }
}

extension Tensor {
    /// A copy of the 2-D `self` whose rows `rows` are those of `replacement` [rows.count, width], in order; the gradient
    /// flows to `replacement` at those rows and to `self` at the others.
    func replacingRows(_ rows: [Int32], with replacement: Tensor) -> Tensor {
        precondition(rank == 2 && replacement.shape == [rows.count, shape[1]] && rows.allSatisfy { $0 >= 0 && Int($0) < shape[0] },
                     "replacingRows: rows of \(replacement.shape) do not fit \(shape)")
        let (count, width) = (shape[0], shape[1])
        func scatter(_ source: Tensor, _ rowSource: UnsafePointer<Float>?) -> Tensor {
            let storage = TensorStorage(capacity: count * width)
            storage.pointer.update(from: source.pointer, count: count * width)
            for (i, row) in rows.enumerated() {
                let destination = storage.pointer + Int(row) * width
                if let rowSource { destination.update(from: rowSource + i * width, count: width) } else { destination.update(repeating: 0, count: width) }
            }
            return Tensor(shape: [count, width], storage: storage)
        }
        return Tensor.customOperation(name: "replacingRows", inputs: [self, replacement], output: scatter(self, replacement.pointer)) { g in
            let gathered = TensorStorage(capacity: rows.count * width)
            for (i, row) in rows.enumerated() { (gathered.pointer + i * width).update(from: g.pointer + Int(row) * width, count: width) }
            return [scatter(g, nil), Tensor(shape: [rows.count, width], storage: gathered)]
        }
    }
}
