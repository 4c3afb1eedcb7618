import TensorCore

/// One learnable tensor, named by its OpenCLIP state-dict key, living in the store's single allocation.
public final class Parameter {
    /// OpenCLIP state-dict key, e.g. `visual.transformer.resblocks.0.attn.in_proj_weight`.
    public let name: String
    public let shape: [Int]
    /// Position of the first element in the store's flat value and gradient buffers.
    public let offset: Int
    public var count: Int { shape.reduce(1, *) }
    unowned let store: ParameterStore
    /// The tape leaf standing for this parameter during a forward pass with gradients, if any.
    public internal(set) var leaf: Tensor?

    init(name: String, shape: [Int], offset: Int, store: ParameterStore) {
        self.name = name
        self.shape = shape
        self.offset = offset
        self.store = store
    }

    /// The current values: a view into the store (no copy). The optimizer updates them in place.
    public var value: Tensor { Tensor(shape: shape, storage: store.values, offset: offset) }

    /// What layers compute with: the tracked leaf while the parameter trains, the plain value otherwise.
    public var tensor: Tensor { leaf ?? value }

    /// Writable values for loading weights and for the optimizer.
    public var pointer: UnsafeMutablePointer<Float> { store.values.pointer + offset }
}

/// All parameters of a model in one Float32 allocation, in registration order (llm.c style), so that
/// collectives, the optimizer and checkpoints see contiguous memory.
public final class ParameterStore {
    public private(set) var parameters: [Parameter] = []
    private var index: [String: Int] = [:]
    /// Flat parameter values; grows while the model registers parameters, fixed afterwards.
    public private(set) var values = TensorStorage(capacity: 0)
    /// Total number of scalar parameters.
    public private(set) var count = 0
    private var pending: [(shape: [Int], initial: [Float])] = []
    private var sealed = false

    public init() {}

    /// Registers a parameter with initial values; call `seal()` once the model is complete.
    @discardableResult
    public func register(_ name: String, shape: [Int], initial: Tensor) -> Parameter {
        precondition(!sealed, "ParameterStore: cannot add \(name) after seal()")
        precondition(index[name] == nil, "ParameterStore: duplicate parameter \(name)")
        precondition(initial.shape == shape, "ParameterStore: \(name) has shape \(shape) but initial value \(initial.shape)")
        let p = Parameter(name: name, shape: shape, offset: count, store: self)
        index[name] = parameters.count
        parameters.append(p)
        pending.append((shape, initial.values))
        count += p.count
        return p
    }

    /// Allocates the flat buffer and copies the initial values in.
    public func seal() {
        precondition(!sealed, "ParameterStore: seal() called twice")
        sealed = true
        values = TensorStorage(capacity: count)
        for (p, spec) in zip(parameters, pending) {
            spec.initial.withUnsafeBufferPointer { p.pointer.update(from: $0.baseAddress!, count: p.count) }
        }
        pending = []
    }

    public subscript(_ name: String) -> Parameter? { index[name].map { parameters[$0] } }

    /// Makes every parameter for which `trainable` holds a tape leaf, so the next forward pass records
    /// its use; the others are used as constants (no gradient computed).
    public func track(where trainable: (Parameter) -> Bool = { _ in true }) {
        for p in parameters { p.leaf = trainable(p) ? p.value.tracked() : nil }
    }

    /// Forgets the tape leaves (after backward, or for evaluation).
    public func untrack() { for p in parameters { p.leaf = nil } }

    /// The flat values as a buffer.
    public var flatValues: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: values.pointer, count: count) }
}
