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
        let inputs: [Int]      // tape-local index per input, -1 for untracked inputs
        let output: Int
        let outputShape: [Int]
    }

    private(set) var nodes: [Node] = []
    /// Variable ids are never reused: ids below `firstVariable` belong to tapes already reset, so a
    /// tensor tracked before a reset is treated as untracked instead of aliasing a new variable.
    private(set) var firstVariable = 0
    private var nextVariable = 0
    private var isLeaf: [Bool] = []   // indexed by id - firstVariable
    var gradientsEnabled = true
    /// How the big activations backward reads (inputs of fused linear layers, MLPs and attention) are kept.
    public var activationPrecision = ActivationPrecision.fp32

    /// Whether operations are currently recorded.
    public var isRecording: Bool { gradientsEnabled }

    /// Whether tensors handed to the tape now are kept as bfloat16.
    var keepsBFloat16Activations: Bool { gradientsEnabled && activationPrecision == .bf16 }

    /// Whether `variable` is a variable of the current tape (not -1 and not from before a reset).
    public func isCurrent(_ variable: Int) -> Bool { variable >= firstVariable && variable < nextVariable }

    /// Starts tracking `tensor` as a leaf whose gradient `backward` reports.
    public func watch(_ tensor: Tensor) -> Tensor {
        var t = tensor
        t.variable = newVariable(leaf: true)
        return t
    }

    func newVariable(leaf: Bool) -> Int {
        defer { nextVariable += 1 }
        isLeaf.append(leaf)
        return nextVariable
    }

    /// Records `op` producing `output` from `inputs` when any input is tracked; returns the output tracked.
    @inline(__always)
    func record(_ op: @autoclosure () -> Op, inputs: [Tensor], output: Tensor) -> Tensor {
        guard gradientsEnabled, inputs.contains(where: { $0.variable >= firstVariable }) else { return output }
        var result = output
        result.variable = newVariable(leaf: false)
        let local = inputs.map { $0.variable >= firstVariable ? $0.variable - firstVariable : -1 }
        nodes.append(Node(op: op(), inputs: local, output: result.variable - firstVariable, outputShape: output.shape))
        return result
    }

    /// Forgets every node and variable; tracked tensors from before no longer take part in gradients.
    public func reset() {
        nodes.removeAll(keepingCapacity: true)
        isLeaf.removeAll(keepingCapacity: true)
        firstVariable = nextVariable
    }

    /// Back-propagates from the scalar `loss` (seeded with `seed`, default 1) and returns leaf gradients.
    ///
    /// - Parameter leafReady: called as soon as a leaf's gradient is final (no remaining node uses it),
    ///   in the order backward finishes them, so communication can start while backward continues.
    /// The tape is reset afterwards.
    public func backward(from loss: Tensor, seed: Tensor? = nil,
                         leafReady: ((Int, Tensor) -> Void)? = nil) -> Gradients {
        precondition(isCurrent(loss.variable), "backward: the loss is not tracked (no tracked input, or gradients disabled)")
        let seedTensor = seed ?? Tensor(shape: loss.shape, repeating: 1)
        precondition(seedTensor.shape == loss.shape, "backward: seed shape \(seedTensor.shape) vs loss shape \(loss.shape)")
        // Without destinations every leaf's gradient arrives as a tensor.
        return backward(seeds: [(loss.variable, seedTensor)], leafReady: leafReady.map { report in { v, g in if let g { report(v, g) } } })
    }

    /// Back-propagates several seeded outputs at once (e.g. cached feature gradients in GradCache).
    ///
    /// Variables are the `variable` ids of tracked tensors; `leafReady` and `Gradients` use the same ids.
    /// With `keepingLeafGradients` false the result stays empty and each leaf gradient is freed once `leafReady`
    /// has consumed it, so a training step never holds a second copy of all gradients.
    ///
    /// A leaf listed in `destinations` has its gradient added into that buffer (of the leaf's element count) as
    /// backward produces it; `leafReady` receives nil for it and the result does not hold it. A lookup table's
    /// gradient then touches only the rows the batch read instead of becoming a table-sized temporary.
    public func backward(seeds: [(variable: Int, gradient: Tensor)], keepingLeafGradients: Bool = true,
                         accumulatingInto destinations: [Int: UnsafeMutablePointer<Float>] = [:],
                         leafReady: ((Int, Tensor?) -> Void)? = nil) -> Gradients {
        let base = firstVariable, variableCount = nextVariable - firstVariable
        var grads = [Tensor?](repeating: nil, count: variableCount)
        var destination = [UnsafeMutablePointer<Float>?](repeating: nil, count: variableCount)
        var accumulated = [Bool](repeating: false, count: variableCount)  // a gradient reached the destination
        for (v, pointer) in destinations where isCurrent(v) && isLeaf[v - base] { destination[v - base] = pointer }
        func add(_ g: Tensor, to v: Int) {
            if let d = destination[v] {
                Kernels.add(g.pointer, into: d, count: g.count)
                accumulated[v] = true
            } else {
                accumulate(&grads[v], g)
            }
        }
        for (v, g) in seeds {
            precondition(isCurrent(v), "backward: seed variable \(v) is not on the current tape (untracked or from before a reset)")
            add(g, to: v - base)
        }

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
        var result = Gradients(count: variableCount, base: base)
        // A leaf's gradient is complete: hand it over (or, with a destination, say that it is there).
        func finish(_ v: Int) {
            if destination[v] != nil {
                if accumulated[v], let leafReady { leafReady(v + base, nil) }
                return
            }
            let g = grads[v]
            grads[v] = nil
            if keepingLeafGradients { result.values[v] = g }
            if let g, let leafReady { leafReady(v + base, g) }
        }
        let wasEnabled = gradientsEnabled
        gradientsEnabled = false  // backward rules use ordinary ops on saved (tracked) tensors
        defer { gradientsEnabled = wasEnabled }

        // Walk a moved-out copy and drop each node once processed, so the tensors it saved are freed as backward
        // proceeds; recomputation (gradient checkpointing) records onto the then empty `nodes` meanwhile.
        var pending = nodes
        nodes.removeAll(keepingCapacity: true)
        for index in stride(from: pending.count - 1, through: 0, by: -1) {
            let node = pending.removeLast()
            if let outGrad = grads[node.output] {
                grads[node.output] = nil  // an output is never a leaf: free intermediates early
                precondition(outGrad.shape == node.outputShape,
                             "backward: gradient shape \(outGrad.shape) vs output shape \(node.outputShape) of \(node.op.name)")
                var needs = node.inputs.map { $0 >= 0 }
                for (k, v) in node.inputs.enumerated() where v >= 0 {
                    if let d = destination[v], Gradient.accumulate(node.op, input: k, outputGradient: outGrad, into: d) {
                        needs[k] = false
                        accumulated[v] = true
                    }
                }
                let inputGrads = Gradient.backward(node.op, outputGradient: outGrad, outputShape: node.outputShape, needs: needs)
                precondition(inputGrads.count == node.inputs.count, "backward rule of \(node.op.name) returned \(inputGrads.count) gradients for \(node.inputs.count) inputs")
                for (k, (v, g)) in zip(node.inputs, inputGrads).enumerated() where v >= 0 && needs[k] {
                    if let g { add(g, to: v) }
                }
            }
            for v in finalAt[index] { finish(v) }
        }
        for v in leavesWithoutUse { finish(v) }
        reset()
        return result
    }

    /// A position on the tape, to back-propagate later through only what is recorded after it.
    public struct Mark { let nodeCount: Int }

    /// The current position (see `backwardSegment`).
    public func mark() -> Mark { Mark(nodeCount: nodes.count) }

    /// Runs `body` with recording on, also inside a backward pass (recomputation for gradient checkpointing).
    public func recording<R>(_ body: () throws -> R) rethrows -> R {
        let previous = gradientsEnabled
        gradientsEnabled = true
        defer { gradientsEnabled = previous }
        return try body()
    }

    /// Back-propagates `seeds` through the nodes recorded since `mark` only, returns the gradients of `wanted`
    /// (in order; nil where none flows), and removes those nodes again, leaving the tape as it was at `mark`.
    ///
    /// Gradient checkpointing calls this from a backward rule: the segment is recomputed with recording on,
    /// differentiated on its own, and its result handed back to the enclosing backward pass.
    public func backwardSegment(since mark: Mark, seeds: [(variable: Int, gradient: Tensor)], wanted: [Int]) -> [Tensor?] {
        precondition(mark.nodeCount <= nodes.count, "backwardSegment: the mark is past the end of the tape")
        let base = firstVariable
        var grads: [Int: Tensor] = [:]
        func add(_ local: Int, _ g: Tensor) {
            if var existing = grads.removeValue(forKey: local) { existing.addInPlace(g); grads[local] = existing } else { grads[local] = g }
        }
        for (v, g) in seeds {
            precondition(isCurrent(v), "backwardSegment: seed variable \(v) is not on the current tape")
            add(v - base, g)
        }
        let wasEnabled = gradientsEnabled
        gradientsEnabled = false
        defer { gradientsEnabled = wasEnabled }
        for index in stride(from: nodes.count - 1, through: mark.nodeCount, by: -1) {
            let node = nodes[index]
            guard let outGrad = grads.removeValue(forKey: node.output) else { continue }
            let inputGrads = Gradient.backward(node.op, outputGradient: outGrad, outputShape: node.outputShape,
                                               needs: node.inputs.map { $0 >= 0 })
            for (v, g) in zip(node.inputs, inputGrads) where v >= 0 { if let g { add(v, g) } }
        }
        nodes.removeSubrange(mark.nodeCount...)
        return wanted.map { isCurrent($0) ? grads[$0 - base] : nil }
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
    /// Variable id of `values[0]`.
    let base: Int
    init(count: Int, base: Int) { values = Array(repeating: nil, count: count); self.base = base }

    /// The gradient of `tensor` (a leaf watched before the forward pass), or nil if the loss does not depend on it.
    public subscript(_ tensor: Tensor) -> Tensor? { self[variable: tensor.variable] }

    /// The gradient of variable `id` (a tracked tensor's `variable`).
    public subscript(variable id: Int) -> Tensor? {
        id >= base && id - base < values.count ? values[id - base] : nil
    }
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
    /// Records an operation defined outside TensorCore (e.g. a fused loss) so that gradients flow through it.
    ///
    /// `output` must have been computed from `inputs` without tape operations (for instance inside
    /// `withoutGradients` or with raw pointers); `backward` maps the gradient of `output` to one optional
    /// gradient per input, each of that input's shape. Returns `output`, tracked when any input is.
    public static func customOperation(name: String, inputs: [Tensor], output: Tensor,
                                       backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        Tape.shared.record(.custom(name: name, backward: backward), inputs: inputs, output: output)
    }

    /// This tensor as a tape leaf whose gradient `backward` reports.
    public func tracked() -> Tensor { Tape.shared.watch(self) }

    /// Back-propagates from this scalar and returns the gradients of the watched leaves.
    public func backward() -> Gradients { Tape.shared.backward(from: self) }

    /// Adds `other` element-wise in place (same shape); used to accumulate gradients.
    public mutating func addInPlace(_ other: Tensor) {
        precondition(shape == other.shape, "addInPlace: shapes \(shape) and \(other.shape) differ")
        let n = count, src = other.pointer
        withUnsafeMutableBufferPointer { Kernels.add(src, into: $0.baseAddress!, count: n) }
    }
}
