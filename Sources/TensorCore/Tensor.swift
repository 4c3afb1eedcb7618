/// A Float32 tensor: contiguous row-major values with copy-on-write value semantics.
///
/// A tensor may be a view into a larger storage (`offset`), which is how parameters live in one
/// allocation. Writing through `withUnsafeMutableBufferPointer` copies first unless the storage is
/// uniquely referenced, so ordinary tensors behave as values. A tensor that takes part in automatic
/// differentiation carries the index of its variable on the tape (`variable`).
public struct Tensor: @unchecked Sendable {
    public private(set) var shape: [Int]
    public private(set) var storage: TensorStorage
    public private(set) var offset: Int
    /// Index of this tensor's variable on the current tape, or -1 when it is not tracked.
    public internal(set) var variable: Int = -1

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
    /// Number of dimensions.
    public var rank: Int { shape.count }
    /// Whether gradients flow to this tensor (it is a variable of the current tape).
    public var isTracked: Bool { Tape.shared.isCurrent(variable) }

    /// Wraps `storage` without copying.
    public init(shape: [Int], storage: TensorStorage, offset: Int = 0) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        precondition(offset + shape.reduce(1, *) <= storage.capacity,
                     "Tensor: shape \(shape) at offset \(offset) exceeds storage of \(storage.capacity)")
        self.shape = shape
        self.storage = storage
        self.offset = offset
    }

    /// An uninitialised tensor; internal because every element must be written before use.
    init(uninitializedShape shape: [Int]) {
        self.init(shape: shape, storage: TensorStorage(capacity: shape.reduce(1, *)))
    }

    /// A tensor holding `values` in row-major order.
    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count,
                     "Tensor: shape \(shape) needs \(shape.reduce(1, *)) values, got \(values.count)")
        self.init(uninitializedShape: shape)
        values.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { storage.pointer.update(from: base, count: values.count) }
        }
    }

    /// A 0-d tensor holding `value`.
    public init(scalar value: Float) { self.init(shape: [], values: [value]) }

    /// A tensor with every element equal to `value`.
    public init(shape: [Int], repeating value: Float) {
        self.init(uninitializedShape: shape)
        storage.pointer.initialize(repeating: value, count: count)
    }

    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 0) }
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 1) }
    public static func full(_ shape: [Int], _ value: Float) -> Tensor { Tensor(shape: shape, repeating: value) }

    /// Read-only pointer to the first element.
    public var pointer: UnsafePointer<Float> { UnsafePointer(storage.pointer + offset) }

    /// The values in row-major order.
    public var values: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// The single value of a tensor with one element.
    public var scalar: Float {
        precondition(count == 1, "Tensor.scalar: shape \(shape) has \(count) elements")
        return pointer.pointee
    }

    /// Calls `body` with the values; no copy.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: pointer, count: count))
    }

    /// Calls `body` with writable values, copying first unless this tensor owns its storage alone.
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        if !isKnownUniquelyReferenced(&storage) || offset != 0 || storage.capacity != count {
            let copy = TensorStorage(capacity: count)
            copy.pointer.update(from: pointer, count: count)
            storage = copy
            offset = 0
        }
        variable = -1  // a written tensor is a new value; it no longer stands for a tape variable
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
    }

    /// A copy that owns its storage (breaks aliasing with a parameter arena).
    public func copy() -> Tensor {
        var result = Tensor(uninitializedShape: shape)
        result.storage.pointer.update(from: pointer, count: count)
        result.variable = -1
        return result
    }

    /// Element at a multi-dimensional index (for tests and debugging; not for hot loops).
    public subscript(_ index: Int...) -> Float {
        precondition(index.count == rank, "Tensor subscript: index \(index) for shape \(shape)")
        var flat = 0
        for (i, d) in zip(index, shape) {
            precondition(i >= 0 && i < d, "Tensor subscript: index \(index) out of range for shape \(shape)")
            flat = flat * d + i
        }
        return pointer[flat]
    }

    /// The same values with a new shape of equal size; no copy (the tape records it when tracked).
    func reshapedView(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, storage: storage, offset: offset)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = values.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), values: [\(shown)\(count > 8 ? ", ..." : "")])"
    }
}

/// Product of dimensions.
@inline(__always) func product(_ dims: ArraySlice<Int>) -> Int { dims.reduce(1, *) }
