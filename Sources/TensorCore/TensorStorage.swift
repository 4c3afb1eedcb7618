import Foundation

/// A 64-byte aligned buffer of Float32 values that tensors share until one of them writes.
///
/// Large buffers come from `StoragePool`, which keeps freed ones for reuse: a training step allocates
/// the same activation sizes every step, and fresh large allocations are mapped by the kernel page by
/// page on first touch, which made memory-bound kernels several times slower than memcpy.
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let capacity: Int
    /// Bytes actually allocated (a pool size class for large buffers), 0 for buffers not from the pool.
    private let pooledBytes: Int

    /// Allocates `capacity` uninitialised floats (callers fill every element before reading).
    public init(capacity: Int) {
        precondition(capacity >= 0, "TensorStorage: negative capacity \(capacity)")
        self.capacity = capacity
        let bytes = max(capacity, 1) * 4
        let raw: UnsafeMutableRawPointer
        if let sizeClass = StoragePool.sizeClass(bytes) {
            if let (buffer, bufferBytes) = StoragePool.shared.take(sizeClass, atMost: 2 * bytes) {
                raw = buffer
                pooledBytes = bufferBytes
            } else {
                raw = UnsafeMutableRawPointer.allocate(byteCount: sizeClass, alignment: 64)
                pooledBytes = sizeClass
            }
        } else {
            raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            pooledBytes = 0
        }
        pointer = raw.bindMemory(to: Float.self, capacity: max(capacity, 1))
    }

    /// Allocates `capacity` floats set to zero.
    public convenience init(zeros capacity: Int) {
        self.init(capacity: capacity)
        pointer.initialize(repeating: 0, count: capacity)
    }

    deinit {
        let raw = UnsafeMutableRawPointer(pointer)
        if pooledBytes > 0 { StoragePool.shared.give(raw, pooledBytes) } else { raw.deallocate() }
    }

    /// Frees the large buffers kept for reuse (e.g. after evaluation with unusual shapes).
    public static func releaseCachedMemory() { StoragePool.shared.releaseAll() }

    /// Bytes currently kept for reuse.
    public static var cachedBytes: Int { StoragePool.shared.cachedBytes }
}

/// Freed large buffers by size class, bounded in total bytes (`SWIFTCLIP_TENSOR_CACHE_MB`, default 4096).
final class StoragePool: @unchecked Sendable {
    static let shared = StoragePool()

    /// Buffers below this many bytes are left to malloc, which reuses small blocks well by itself.
    static let minimumBytes = 1 << 18

    /// Size classes are multiples of 1/8 of the enclosing power of two: at most 25 % above the request (a tail
    /// never touched is never resident), and nearby sizes (e.g. varying sequence lengths) share buffers.
    static func sizeClass(_ bytes: Int) -> Int? {
        guard bytes >= minimumBytes else { return nil }
        let step = 1 << (Int.bitWidth - (bytes - 1).leadingZeroBitCount - 3)
        return (bytes + step - 1) / step * step
    }

    private let lock = NSLock()
    private var free: [Int: [UnsafeMutableRawPointer]] = [:]
    private(set) var cachedBytes = 0
    let limitBytes: Int

    init() {
        let megabytes = ProcessInfo.processInfo.environment["SWIFTCLIP_TENSOR_CACHE_MB"].flatMap { Int($0) } ?? 4096
        limitBytes = max(megabytes, 0) << 20
    }

    /// A cached buffer of `sizeClass`, or else the smallest cached one of at most `limit` bytes, with its size.
    ///
    /// Backward allocates gradients of shapes the forward pass never uses (a block's q|k|v gradient, the token
    /// embedding's) just as it frees activations of other sizes; taking those instead of growing the pool keeps
    /// idle buffers from adding to the step's memory peak. The buffer returns to its own class when freed.
    func take(_ sizeClass: Int, atMost limit: Int) -> (UnsafeMutableRawPointer, Int)? {
        lock.lock(); defer { lock.unlock() }
        var chosen = sizeClass
        if free[sizeClass]?.isEmpty ?? true {
            guard let larger = free.lazy.filter({ $0.key > sizeClass && $0.key <= limit && !$0.value.isEmpty }).map(\.key).min() else { return nil }
            chosen = larger
        }
        guard let buffer = free[chosen]?.popLast() else { return nil }
        cachedBytes -= chosen
        return (buffer, chosen)
    }

    func give(_ buffer: UnsafeMutableRawPointer, _ sizeClass: Int) {
        lock.lock()
        if cachedBytes + sizeClass <= limitBytes {
            free[sizeClass, default: []].append(buffer)
            cachedBytes += sizeClass
            lock.unlock()
        } else {
            lock.unlock()
            buffer.deallocate()
        }
    }

    func releaseAll() {
        lock.lock()
        let buffers = free.values.flatMap { $0 }
        free.removeAll()
        cachedBytes = 0
        lock.unlock()
        for b in buffers { b.deallocate() }
    }
}
