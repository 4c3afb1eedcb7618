#if os(Linux)
/// glibc's `mallopt` (declared in malloc.h, which the Glibc module does not export).
@_silgen_name("mallopt") private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
private let mTrimThreshold: Int32 = -1  // M_TRIM_THRESHOLD
private let mMmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD
#endif

/// Process-wide allocator settings for training.
public enum AllocatorPolicy {
    /// Keeps large freed blocks in the heap instead of returning them to the kernel.
    ///
    /// A training step allocates and frees the same activation sizes every step; by default glibc maps
    /// each large block fresh and unmaps it on free, so every step pays page faults and page clearing
    /// for all activations (several percent of a step). Raising the mmap and trim thresholds lets the
    /// heap reuse those blocks.
    public static func keepFreedMemory() {
        #if os(Linux)
        _ = glibcMallopt(mMmapThreshold, 1 << 30)
        _ = glibcMallopt(mTrimThreshold, Int32.max)
        #endif
    }
}
