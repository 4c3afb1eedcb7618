import TensorCore

/// `body(inputs)` without keeping its activations (gradient checkpointing): the forward pass runs without recording,
/// and backward recomputes `body` with the tape on to differentiate it. Same gradients, the memory of one segment.
///
/// `parameters` are those `body` reads; gradients flow to the tracked inputs and to the parameters' tape leaves.
func recomputedInBackward(_ inputs: [Tensor], parameters: [Parameter], name: String, _ body: @escaping ([Tensor]) -> Tensor) -> Tensor {
    let leaves = parameters.compactMap(\.leaf)
    guard Tape.shared.isRecording, inputs.contains(where: \.isTracked) || !leaves.isEmpty else { return body(inputs) }
    let output = withoutGradients { body(inputs) }
    let tracked = inputs.map(\.isTracked)
    return Tensor.customOperation(name: name, inputs: inputs + leaves, output: output) { g in
        let tape = Tape.shared
        let mark = tape.mark()
        let watched = inputs.map { tape.watch($0) }
        let y = tape.recording { body(watched) }
        let grads = tape.backwardSegment(since: mark, seeds: [(y.variable, g)], wanted: (watched + leaves).map(\.variable))
        return zip(tracked, grads).map { $0 ? $1 : nil } + grads.dropFirst(inputs.count)
    }
}
