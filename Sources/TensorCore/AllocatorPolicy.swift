#if os(Linux)
/// glibc's `mallopt` (declared in malloc.h, which the Glibc module does not export).
@_silgen_name("mallopt") private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
/// glibc's `malloc_trim`: returns the free pages of the heap to the kernel, also from its middle.
@_silgen_name("malloc_trim") private func glibcMallocTrim(_ pad: Int) -> Int32
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

    /// Returns the tensor pool's cached buffers and the heap's free pages to the kernel.
    ///
    /// Building or restoring a model leaves temporaries of sizes a training step never asks for (a table-sized
    /// initialisation buffer); with `keepFreedMemory` they would stay resident, idle, through every step's peak.
    public static func releaseFreedMemory() {
        TensorStorage.releaseCachedMemory()
        #if os(Linux)
        _ = glibcMallocTrim(0)
        #endif
    }
}
