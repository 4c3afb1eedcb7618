import CZstd

/// A reusable zstd compression context configured once with level and worker threads.
final class ZstdCompressor {
    private let context: OpaquePointer
    /// Workers actually in use: 0 when libzstd was built without multithreading.
    let workers: Int

    init(level: Int32, workers: Int, jobSizeBytes: Int) throws {
        guard let context = ZSTD_createCCtx() else {
            throw CheckpointError.invalidArgument(detail: "zstd: cannot allocate a compression context")
        }
        self.context = context
        try ZstdCompressor.check(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level), "compression level \(level)")
        var activeWorkers = 0
        if workers > 0 {
            // A libzstd built without ZSTD_MULTITHREAD rejects this; compressing single-threaded is still correct.
            let result = ZSTD_CCtx_setParameter(context, ZSTD_c_nbWorkers, Int32(clamping: workers))
            if ZSTD_isError(result) == 0 {
                activeWorkers = workers
                if jobSizeBytes > 0 {
                    try ZstdCompressor.check(ZSTD_CCtx_setParameter(context, ZSTD_c_jobSize, Int32(clamping: jobSizeBytes)),
                                             "job size \(jobSizeBytes)")
                }
            }
        }
        self.workers = activeWorkers
    }

    deinit { ZSTD_freeCCtx(context) }

    /// Worst-case compressed size for `count` input bytes.
    static func bound(_ count: Int) -> Int { ZSTD_compressBound(count) }

    /// Compresses `count` bytes into `destination` (capacity at least `bound(count)`) and returns the frame size.
    func compress(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutableRawPointer, capacity: Int) throws -> Int {
        let result = ZSTD_compress2(context, destination, capacity, source, count)
        if ZSTD_isError(result) != 0 { throw ZstdFailure(reason: String(cString: ZSTD_getErrorName(result))) }
        return result
    }

    private static func check(_ result: Int, _ what: String) throws {
        if ZSTD_isError(result) != 0 {
            throw CheckpointError.invalidArgument(detail: "zstd rejected \(what): \(String(cString: ZSTD_getErrorName(result)))")
        }
    }
}

/// A reusable zstd decompression context.
final class ZstdDecompressor {
    private let context: OpaquePointer

    init() throws {
        guard let context = ZSTD_createDCtx() else {
            throw CheckpointError.invalidArgument(detail: "zstd: cannot allocate a decompression context")
        }
        self.context = context
    }

    deinit { ZSTD_freeDCtx(context) }

    /// Decompresses one frame straight into `destination`, which must receive exactly `expectedCount` bytes.
    func decompress(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutableRawPointer, expectedCount: Int) throws {
        let result = ZSTD_decompressDCtx(context, destination, expectedCount, source, count)
        if ZSTD_isError(result) != 0 { throw ZstdFailure(reason: String(cString: ZSTD_getErrorName(result))) }
        if result != expectedCount {
            throw ZstdFailure(reason: "frame holds \(result) bytes, header says \(expectedCount)")
        }
    }
}

/// A zstd error code translated to text; callers wrap it with file and tensor names.
struct ZstdFailure: Error {
    let reason: String
}
