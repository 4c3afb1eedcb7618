import Foundation
import TensorCore

/// One named tensor as plain data: row-major Float32 values with their shape, and the type they are stored in.
///
/// A 0-d tensor has `shape == []` and one value; an empty tensor has a zero in its shape and no values.
/// A tensor stored as bfloat16 or float16 is rounded (nearest, ties to even) when written and widened exactly when read.
public struct CheckpointTensor: Equatable, Sendable {
    public var name: String
    public var shape: [Int]
    public var values: [Float]
    public var dtype: StorageDType

    public init(name: String, shape: [Int], values: [Float], dtype: StorageDType = .f32) {
        self.name = name
        self.shape = shape
        self.values = values
        self.dtype = dtype
    }

    /// Whether name, shape and the bits of every value agree (unlike `==`, NaN payloads and -0 count).
    public func isBitwiseEqual(to other: CheckpointTensor) -> Bool {
        guard name == other.name, shape == other.shape, values.count == other.values.count else { return false }
        return values.withUnsafeBytes { mine in
            other.values.withUnsafeBytes { theirs in mine.count == 0 || memcmp(mine.baseAddress!, theirs.baseAddress!, mine.count) == 0 }
        }
    }

    /// Number of elements the shape describes, or `nil` if a dimension is negative or the product overflows.
    static func elementCount(of shape: [Int]) -> Int? {
        var count = 1
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            count = product
        }
        return count
    }
}

/// Byte filter applied before compression, recorded per tensor so readers know how to undo it.
public enum CheckpointFilter: String, Codable, Sendable, CaseIterable {
    /// Bytes stored as they are in memory.
    case none
    /// The four byte planes of the Float32 values stored one after another (Blosc/HDF5 "shuffle").
    case shuffle4
    /// The two byte planes of 16-bit values (bfloat16, float16) stored one after another.
    case shuffle2

    /// The shuffle for elements of `width` bytes when shuffling is asked for at all.
    func forElements(of width: Int) -> CheckpointFilter {
        self == .none ? .none : (width == 2 ? .shuffle2 : .shuffle4)
    }

    /// The element width this filter shuffles, nil for `none`.
    var elementWidth: Int? {
        switch self {
        case .none: return nil
        case .shuffle4: return 4
        case .shuffle2: return 2
        }
    }
}

/// Compression applied to a tensor's (filtered) bytes.
public enum CheckpointCodec: String, Codable, Sendable, CaseIterable {
    case none
    /// One zstd frame per tensor.
    case zstd
}

/// How tensors are encoded when writing.
public struct CheckpointWriteOptions: Sendable {
    /// zstd level; 3 balances speed and ratio for weights (higher levels gain little on float noise).
    public var compressionLevel: Int32
    /// zstd worker threads for one tensor (ZSTD_c_nbWorkers); 0 compresses on the calling thread.
    public var compressionWorkers: Int
    /// zstd job size in bytes when workers are used (minimum 512 KiB); 0 lets zstd choose (8 MiB at level 3,
    /// which leaves most CLIP tensors on one worker). 1 MiB jobs changed the ratio by < 0.01% on trained-like weights.
    public var jobSizeBytes: Int
    /// `shuffle4` or `none`; `shuffle4` stands for the shuffle at each tensor's element width (`shuffle2` for 16-bit types).
    public var filter: CheckpointFilter
    public var codec: CheckpointCodec

    public init(compressionLevel: Int32 = 3,
                compressionWorkers: Int = CheckpointWriteOptions.defaultWorkerCount,
                jobSizeBytes: Int = 1 << 20,
                filter: CheckpointFilter = .shuffle4,
                codec: CheckpointCodec = .zstd) {
        self.compressionLevel = compressionLevel
        self.compressionWorkers = compressionWorkers
        self.jobSizeBytes = jobSizeBytes
        self.filter = filter
        self.codec = codec
    }

    /// All cores up to 8: beyond that zstd's per-tensor jobs rarely keep more workers busy.
    public static var defaultWorkerCount: Int { min(8, max(1, ProcessInfo.processInfo.activeProcessorCount)) }
}
