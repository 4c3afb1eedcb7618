/// The element type activations kept for backward are stored in (`--activation-dtype`; `Tape.activationPrecision`).
public enum ActivationPrecision: String, CaseIterable, Sendable {
    /// Float32, as computed.
    case fp32
    /// bfloat16: half the memory; values rounded once (nearest, ties to even), widened to float32 on use.
    case bf16
}

/// A tensor a backward rule reads, as the tape keeps it: float32, or bfloat16 under `--activation-dtype bf16`
/// (`Tape.activationPrecision`). Forward computes in float32 and rounds once when it hands the tensor to the tape (nearest,
/// ties to even); backward widens it again, whole or a chunk of rows at a time, and computes in float32.
public struct SavedActivation {
    public let shape: [Int]
    /// The values in float32, or nil when they are kept as bfloat16 in `narrow`.
    private let full: Tensor?
    /// Two bfloat16 values per float slot of a pooled buffer (large activation sizes recur every step).
    private let narrow: TensorStorage?

    /// `tensor` in float32, as it is.
    public init(_ tensor: Tensor) {
        shape = tensor.shape
        (full, narrow) = (tensor, nil)
    }

    /// These values as the tape keeps activations: rounded to bfloat16 while it records in bf16, else as they are.
    public func kept() -> SavedActivation {
        guard let full, Tape.shared.keepsBFloat16Activations else { return self }
        let storage = TensorStorage(capacity: (full.count + 1) / 2)
        let halves = UnsafeMutableRawPointer(storage.pointer).assumingMemoryBound(to: UInt16.self)
        BFloat16.round(full.pointer, into: halves, count: full.count)
        return SavedActivation(shape: shape, narrow: storage)
    }

    private init(shape: [Int], narrow: TensorStorage) {
        self.shape = shape
        (full, self.narrow) = (nil, narrow)
    }

    /// Uninitialised storage of `shape` in the tape's activation type, filled row by row with `store(rows:from:)`.
    public init(uninitializedShape shape: [Int]) {
        self.shape = shape
        let count = shape.reduce(1, *)
        if Tape.shared.keepsBFloat16Activations {
            (full, narrow) = (nil, TensorStorage(capacity: (count + 1) / 2))
        } else {
            (full, narrow) = (Tensor(uninitializedShape: shape), nil)
        }
    }

    public var count: Int { shape.reduce(1, *) }
    /// Whether the values are kept as bfloat16.
    public var isBFloat16: Bool { narrow != nil }
    var width: Int { shape.last ?? 1 }

    private var halves: UnsafeMutablePointer<UInt16> {
        UnsafeMutableRawPointer(narrow!.pointer).assumingMemoryBound(to: UInt16.self)
    }

    /// Where float32 values are kept (for writing in place), or nil when they are kept as bfloat16.
    var float32Pointer: UnsafeMutablePointer<Float>? { full.map { $0.storage.pointer + $0.offset } }

    /// Stores float32 values of rows `rows` (of `width` values each); a no-op when `values` already is the float32 storage.
    func store(rows: Range<Int>, from values: UnsafePointer<Float>) {
        let first = rows.lowerBound * width, n = rows.count * width
        if let destination = float32Pointer {
            if UnsafePointer(destination + first) != values { (destination + first).update(from: values, count: n) }
            return
        }
        BFloat16.round(values, into: halves + first, count: n)
    }

    /// The float32 values of rows `rows`: a pointer into the kept tensor, or the rows widened into `scratch`.
    func rows(_ rows: Range<Int>, scratch: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        let first = rows.lowerBound * width
        if let full { return full.pointer + first }
        BFloat16.widen(halves + first, into: scratch, count: rows.count * width)
        return UnsafePointer(scratch)
    }

    /// Every value in float32: the kept tensor itself, or a widened copy.
    public var float32: Tensor {
        if let full { return full }
        var result = Tensor(uninitializedShape: shape)
        result.withUnsafeMutableBufferPointer { BFloat16.widen(halves, into: $0.baseAddress!, count: $0.count) }
        return result
    }
}
