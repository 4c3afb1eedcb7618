/// Every backward rule, one `case` per operation.
///
/// Given the gradient of an operation's output, returns one gradient per input (nil where the input
/// is untracked, `needs[i] == false`, or has no gradient). Rules run with recording switched off.
enum Gradient {
    static func backward(_ op: Op, outputGradient g: Tensor, outputShape: [Int], needs: [Bool]) -> [Tensor?] {
        switch op {
        case .add(let lhs, let rhs):
            return [needs[0] ? g.reduced(toShape: lhs) : nil, needs[1] ? g.reduced(toShape: rhs) : nil]
        case .subtract(let lhs, let rhs):
            return [needs[0] ? g.reduced(toShape: lhs) : nil, needs[1] ? unary(g) { -$0 }.reduced(toShape: rhs) : nil]
        case .multiply(let a, let b):
            return [needs[0] ? broadcastBinary(g, b, "multiply") { $0 * $1 }.reduced(toShape: a.shape) : nil,
                    needs[1] ? broadcastBinary(g, a, "multiply") { $0 * $1 }.reduced(toShape: b.shape) : nil]
        case .divide(let a, let b):
            let gOverB = broadcastBinary(g, b, "divide") { $0 / $1 }
            return [needs[0] ? gOverB.reduced(toShape: a.shape) : nil,
                    needs[1] ? broadcastBinary(broadcastBinary(gOverB, a, "divide") { $0 * $1 }, b, "divide") { -$0 / $1 }
                                .reduced(toShape: b.shape) : nil]
        case .scale(let c):
            return [unary(g) { $0 * c }]
        case .addScalar:
            return [g]
        case .exp(let out):
            return [broadcastBinary(g, out, "exp") { $0 * $1 }]
        case .log(let x):
            return [broadcastBinary(g, x, "log") { $0 / $1 }]
        case .sqrt(let out):
            return [broadcastBinary(g, out, "sqrt") { $0 / (2 * $1) }]
        case .tanh(let out):
            return [broadcastBinary(g, out, "tanh") { $0 * (1 - $1 * $1) }]
        case .sigmoid(let out):
            return [broadcastBinary(g, out, "sigmoid") { $0 * $1 * (1 - $1) }]
        case .logSigmoid(let x):
            // d/dx log σ(x) = σ(−x)
            return [broadcastBinary(g, x, "logSigmoid") { $0 / (1 + fastExp($1)) }]
        case .relu(let x):
            return [broadcastBinary(g, x, "relu") { $1 > 0 ? $0 : 0 }]
        case .gelu(let x):
            return [ElementwiseGradient.gelu(input: x, outputGradient: g)]
        case .sum(let shape, let axis):
            guard let axis else { return [Tensor(shape: shape, repeating: g.scalar)] }
            return [g.repeated(alongNewAxis: axis, length: shape[axis], scale: 1)]
        case .mean(let shape, let axis):
            guard let axis else { return [Tensor(shape: shape, repeating: g.scalar / Float(max(shape.reduce(1, *), 1)))] }
            return [g.repeated(alongNewAxis: axis, length: shape[axis], scale: 1 / Float(shape[axis]))]
        case .softmax(let out):
            return [rowwise(g, out) { dy, y, dx, n in Kernels.softmaxBackwardRow(y, dy, dx, n) }]
        case .logSoftmax(let out):
            return [rowwise(g, out) { dy, y, dx, n in
                let total = Reduce.sum(dy, n)
                for j in 0..<n { dx[j] = dy[j] - fastExp(y[j]) * total }
            }]
        case .layerNorm(let x, let w, let mean, let rstd):
            let width = w.count, rows = x.count / max(width, 1)
            let dx: Tensor? = needs[0] ? Tensor(uninitializedShape: x.shape) : nil
            let dw = Tensor(shape: w.shape, repeating: 0), db = Tensor(shape: w.shape, repeating: 0)
            Kernels.layerNormBackward(g.pointer, x.pointer, w.pointer, mean.pointer, rstd.pointer, dx?.storage.pointer,
                                      dw.storage.pointer, db.storage.pointer, rows, width)
            return [dx, dw, db]
        case .gatherRows(let tableShape, let indices):
            return [needs[0] ? g.scatterAddRows(tableShape: tableShape, indices: indices) : nil]
        case .reshape(let shape):
            return [g.reshapedView(shape)]
        case .permute(_, let permutation):
            var inverse = permutation
            for (i, p) in permutation.enumerated() { inverse[p] = i }
            return [g.permutedValues(inverse)]
        case .slice(let shape, let axis, let start):
            return [g.padded(into: shape, axis: axis, start: start)]
        case .concatenate(let axis, let sizes):
            var start = 0
            return sizes.enumerated().map { i, size in
                defer { start += size }
                return needs[i] ? g.slice(axis: axis, start..<(start + size)) : nil
            }
        case .expand(let shape):
            return [g.reduced(toShape: shape)]
        case .l2Normalize(let out, let norms):
            let width = out.shape.last ?? 1
            let dx = rowwise(g, out) { dy, y, dx, n in
                let dot = Reduce.dot(dy, y, n)
                for j in 0..<n { dx[j] = dy[j] - y[j] * dot }
            }
            let p = dx.storage.pointer, np = norms.pointer
            for r in 0..<norms.count {
                let inv = 1 / np[r], row = p + r * width
                for j in 0..<width { row[j] *= inv }
            }
            return [dx]
        case .crossEntropy(let probabilities, let labels):
            let dx = probabilities.copy()
            let classes = probabilities.shape[1], rows = labels.count
            let scale = g.scalar / Float(max(rows, 1))
            let p = dx.storage.pointer
            for r in 0..<rows {
                p[r * classes + Int(labels[r])] -= 1
                for j in 0..<classes { p[r * classes + j] *= scale }
            }
            return [dx]
        case .matmul(let a, let b, let tA, let tB):
            return MatmulGradient.matmul(a: a, b: b, tA: tA, tB: tB, g: g, needs: needs)
        case .linear(let x, let w, let hasBias, let hasResidual):
            let grads = MatmulGradient.linear(x: x, weight: w, hasBias: hasBias, g: g, needs: Array(needs.prefix(hasBias ? 3 : 2)))
            return hasResidual ? grads + [needs.last! ? g : nil] : grads
        case .fusedLinear(let context):
            return FusedLinearGradient.backward(context, outputGradient: g, needs: needs)
        case .attention(let context):
            return AttentionGradient.backward(context.restored(), outputGradient: g)
        case .rowAttention(let context):
            return RowAttentionGradient.backward(context, outputGradient: g)
        case .fusedMLP(let context):
            return FusedMLPGradient.backward(context, outputGradient: g, needs: needs)
        case .attentionProjection(let context):
            return AttentionProjectionGradient.backward(context.restored(), outputGradient: g, needs: needs)
        case .unfoldPatches(let geometry):
            return [ConvolutionGradient.unfoldPatches(geometry: geometry, outputGradient: g)]
        case .avgPool2d(let shape, let kernel, let stride):
            return [ConvolutionGradient.avgPool2d(inputShape: shape, kernel: kernel, stride: stride, outputGradient: g)]
        case .custom(_, let rule):
            return rule(g)
        }
    }

    /// Adds the gradient of input `index` straight into `destination` when `op` can do so without materialising it
    /// (a lookup's table gradient: only the rows it read), and returns whether it did.
    static func accumulate(_ op: Op, input index: Int, outputGradient g: Tensor, into destination: UnsafeMutablePointer<Float>) -> Bool {
        switch op {
        case .gatherRows(let tableShape, let indices) where index == 0:
            g.scatterAddRows(into: destination, width: tableShape[1], indices: indices)
            return true
        default:
            return false
        }
    }

    /// Applies `body(dy, y, dx, width)` to every row of the last axis.
    private static func rowwise(_ g: Tensor, _ y: Tensor,
                                _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
        let width = y.shape.last ?? 1
        let dx = Tensor(uninitializedShape: y.shape)
        for r in 0..<(y.count / max(width, 1)) {
            body(g.pointer + r * width, y.pointer + r * width, dx.storage.pointer + r * width, width)
        }
        return dx
    }
}
