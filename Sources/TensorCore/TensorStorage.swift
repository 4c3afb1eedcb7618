/// A 64-byte aligned buffer of Float32 values that tensors share until one of them writes.
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let capacity: Int

    /// Allocates `capacity` uninitialised floats (callers fill every element before reading).
    public init(capacity: Int) {
        precondition(capacity >= 0, "TensorStorage: negative capacity \(capacity)")
        self.capacity = capacity
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(capacity, 1) * 4, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(capacity, 1))
    }

    /// Allocates `capacity` floats set to zero.
    public convenience init(zeros capacity: Int) {
        self.init(capacity: capacity)
        pointer.initialize(repeating: 0, count: capacity)
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }
}
