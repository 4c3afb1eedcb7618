extension Tensor {
    /// Records an operation computed outside TensorCore: `output` was computed from `inputs`, and
    /// `backward` maps the output gradient to one optional gradient per input (same order).
    public static func custom(name: String, inputs: [Tensor], output: Tensor,
                              backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        Tape.shared.record(.custom(name: name, backward: backward), inputs: inputs, output: output)
    }
}
