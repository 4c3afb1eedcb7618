/// The record of differentiable operations since the last backward pass.
///
/// Recording happens only while gradients are enabled and at least one input is tracked. Nodes are
/// appended in execution order, which is already a topological order, so `backward` walks them in
/// reverse. The tape belongs to the training thread: data-loading threads never touch tracked tensors.
public final class Tape {
    /// The tape operations record onto.
    nonisolated(unsafe) public static let shared = Tape()

    struct Node {
        let op: Op
        let inputs: [Int]      // variable index per input, -1 for untracked inputs
        let output: Int
        let outputShape: [Int]
    }

    private(set) var nodes: [Node] = []
    private var variableCount = 0
    private var leafCount = 0
    private var isLeaf: [Bool] = []
    var gradientsEnabled = true

    /// Whether operations are currently recorded.
    public var isRecording: Bool { gradientsEnabled }

    /// Starts tracking `tensor` as a leaf whose gradient `backward` reports.
    public func watch(_ tensor: Tensor) -> Tensor {
        var t = tensor
        t.variable = newVariable(leaf: true)
        return t
    }

    func newVariable(leaf: Bool) -> Int {
        defer { variableCount += 1 }
        isLeaf.append(leaf)
        return variableCount
    }

    /// Records `op` producing `output` from `inputs` when any input is tracked; returns the output tracked.
    @inline(__always)
    func record(_ op: @autoclosure () -> Op, inputs: [Tensor], output: Tensor) -> Tensor {
        guard gradientsEnabled, inputs.contains(where: { $0.variable >= 0 }) else { return output }
        var result = output
        result.variable = newVariable(leaf: false)
        nodes.append(Node(op: op(), inputs: inputs.map(\.variable), output: result.variable, outputShape: output.shape))
        return result
    }

    /// Forgets every node and variable; tracked tensors from before no longer take part in gradients.
    public func reset() {
        nodes.removeAll(keepingCapacity: true)
        isLeaf.removeAll(keepingCapacity: true)
        variableCount = 0
    }

    /// Back-propagates from the scalar `loss` (seeded with `seed`, default 1) and returns leaf gradients.
    ///
    /// - Parameter leafReady: called as soon as a leaf's gradient is final (no remaining node uses it),
    ///   in the order backward finishes them, so communication can start while backward continues.
    /// The tape is reset afterwards.
    public func backward(from loss: Tensor, seed: Tensor? = nil,
                         leafReady: ((Int, Tensor) -> Void)? = nil) -> Gradients {
        precondition(loss.variable >= 0, "backward: the loss is not tracked (no tracked input, or gradients disabled)")
        let seedTensor = seed ?? Tensor(shape: loss.shape, repeating: 1)
        precondition(seedTensor.shape == loss.shape, "backward: seed shape \(seedTensor.shape) vs loss shape \(loss.shape)")
        return backward(seeds: [(loss.variable, seedTensor)], leafReady: leafReady)
    }

    /// Back-propagates several seeded outputs at once (e.g. cached feature gradients in GradCache).
    public func backward(seeds: [(variable: Int, gradient: Tensor)],
                         leafReady: ((Int, Tensor) -> Void)? = nil) -> Gradients {
        var grads = [Tensor?](repeating: nil, count: variableCount)
        for (v, g) in seeds { accumulate(&grads[v], g) }

        // A leaf is final once the earliest node that reads it has been processed.
        var firstUse = [Int](repeating: Int.max, count: variableCount)
        for (index, node) in nodes.enumerated() {
            for v in node.inputs where v >= 0 && isLeaf[v] && firstUse[v] == Int.max { firstUse[v] = index }
        }
        var finalAt = [[Int]](repeating: [], count: nodes.count)
        var leavesWithoutUse: [Int] = []
        for v in 0..<variableCount where isLeaf[v] {
            if firstUse[v] == Int.max { leavesWithoutUse.append(v) } else { finalAt[firstUse[v]].append(v) }
        }
        var result = Gradients(count: variableCount)
        let wasEnabled = gradientsEnabled
        gradientsEnabled = false  // backward rules use ordinary ops on saved (tracked) tensors
        defer { gradientsEnabled = wasEnabled }

        for index in stride(from: nodes.count - 1, through: 0, by: -1) {
            let node = nodes[index]
            if let outGrad = grads[node.output] {
                grads[node.output] = isLeaf[node.output] ? outGrad : nil  // free intermediates early
                let inputGrads = Gradient.backward(node.op, outputGradient: outGrad, outputShape: node.outputShape,
                                                   needs: node.inputs.map { $0 >= 0 })
                precondition(inputGrads.count == node.inputs.count, "backward rule of \(node.op.name) returned \(inputGrads.count) gradients for \(node.inputs.count) inputs")
                for (v, g) in zip(node.inputs, inputGrads) where v >= 0 {
                    if let g { accumulate(&grads[v], g) }
                }
            }
            for v in finalAt[index] {
                let g = grads[v]
                result.values[v] = g
                if let g, let leafReady { leafReady(v, g) }
            }
        }
        for v in leavesWithoutUse { result.values[v] = grads[v] }
        reset()
        return result
    }

    private func accumulate(_ slot: inout Tensor?, _ g: Tensor) {
        if slot == nil {
            slot = g
        } else {
            slot!.addInPlace(g)
        }
    }
}

/// Gradients of the leaves of one backward pass, looked up by the tracked tensor.
public struct Gradients {
    var values: [Tensor?]
    init(count: Int) { values = Array(repeating: nil, count: count) }

    /// The gradient of `tensor` (a leaf watched before the forward pass), or nil if the loss does not depend on it.
    public subscript(_ tensor: Tensor) -> Tensor? {
        tensor.variable >= 0 && tensor.variable < values.count ? values[tensor.variable] : nil
    }

    /// The gradient of variable `index`.
    public subscript(variable index: Int) -> Tensor? { index >= 0 && index < values.count ? values[index] : nil }
}

/// Runs `body` without recording operations (evaluation, GradCache's first pass, recomputation).
public func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
    let tape = Tape.shared
    let previous = tape.gradientsEnabled
    tape.gradientsEnabled = false
    defer { tape.gradientsEnabled = previous }
    return try body()
}

extension Tensor {
    /// This tensor as a tape leaf whose gradient `backward` reports.
    public func tracked() -> Tensor { Tape.shared.watch(self) }

    /// Back-propagates from this scalar and returns the gradients of the watched leaves.
    public func backward() -> Gradients { Tape.shared.backward(from: self) }

    /// Adds `other` element-wise in place (same shape); used to accumulate gradients.
    public mutating func addInPlace(_ other: Tensor) {
        precondition(shape == other.shape, "addInPlace: shapes \(shape) and \(other.shape) differ")
        let n = count
        let src = other.pointer
        withUnsafeMutableBufferPointer { dst in
            let d = dst.baseAddress!
            for i in 0..<n { d[i] += src[i] }
        }
    }
}
