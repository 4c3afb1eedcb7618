import Foundation
import TensorCore

/// A checkpoint whose header and every tensor have been verified.
public struct LoadedCheckpoint: Sendable {
    public let url: URL
    public let header: CheckpointHeader
    /// Tensors in the order they were saved.
    public let tensors: [CheckpointTensor]

    public var step: Int { header.step }

    public func tensor(named name: String) -> CheckpointTensor? {
        tensors.first { $0.name == name }
    }

    /// Decodes the run metadata as the caller's own type.
    public func metadata<T: Decodable>(as type: T.Type) throws -> T {
        try header.metadata(as: type)
    }
}

extension CheckpointFile {
    /// Loads a checkpoint, verifying magic, version, header checksum and every tensor checksum before returning.
    ///
    /// Each tensor is decompressed straight into its result array (via one scratch buffer when a filter must
    /// be undone). Large checkpoints are decoded by up to `maxThreads` threads, one tensor per thread at a time.
    public static func read(at url: URL, maxThreads: Int = CheckpointFile.defaultLoadThreadCount) throws -> LoadedCheckpoint {
        let source = try OpenCheckpointFile(url: url)
        let records = source.header.tensors
        let results = UnsafeMutableBufferPointer<[Float]>.allocate(capacity: records.count)
        results.initialize(repeating: [])
        defer {
            results.deinitialize()
            results.deallocate()
        }
        try CheckpointLoadPlan(records: records, maxThreads: maxThreads).run(source: source) { decoder, index in
            let record = records[index]
            let dtype = StorageDType(longName: record.dtype)!  // the table was validated
            let count = record.rawSize / dtype.byteWidth
            results[index] = try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                try decoder.decodeValues(record, dtype: dtype,
                                         into: buffer.baseAddress ?? decoder.emptyDestination.assumingMemoryBound(to: Float.self))
                initialized = count
            }
        }
        let tensors = records.indices.map {
            CheckpointTensor(name: records[$0].name, shape: records[$0].shape, values: results[$0],
                             dtype: StorageDType(longName: records[$0].dtype)!)
        }
        return LoadedCheckpoint(url: url, header: source.header, tensors: tensors)
    }

    /// Checks every checksum of a checkpoint without keeping the values; returns its header.
    @discardableResult
    public static func verify(at url: URL, maxThreads: Int = CheckpointFile.defaultLoadThreadCount) throws -> CheckpointHeader {
        let source = try OpenCheckpointFile(url: url)
        let records = source.header.tensors
        try CheckpointLoadPlan(records: records, maxThreads: maxThreads).run(source: source) { decoder, index in
            try decoder.decodeDiscarding(records[index])
        }
        return source.header
    }

    /// Up to four threads: more rarely helps because each needs scratch as large as its largest tensor.
    public static var defaultLoadThreadCount: Int { min(4, max(1, ProcessInfo.processInfo.activeProcessorCount)) }

    /// Reads and verifies only the preamble and header (cheap: no payload is read).
    public static func readHeader(at url: URL) throws -> CheckpointHeader {
        try OpenCheckpointFile(url: url).header
    }
}

/// How the tensors of one checkpoint are split over decoding threads.
struct CheckpointLoadPlan {
    /// Below this many raw bytes one thread is faster than starting several.
    static let parallelThresholdBytes = 8 << 20

    /// Tensor indices per thread, each list ascending so the first corrupt tensor is always the one reported.
    let assignments: [[Int]]

    init(records: [CheckpointTensorRecord], maxThreads: Int) {
        let totalBytes = records.reduce(0) { $0 + $1.rawSize }
        let threads = totalBytes < CheckpointLoadPlan.parallelThresholdBytes ? 1 : max(1, min(maxThreads, records.count))
        // Largest first onto the least-loaded thread keeps the threads' work balanced.
        var load = [Int](repeating: 0, count: threads)
        var lists = [[Int]](repeating: [], count: threads)
        for index in records.indices.sorted(by: { records[$0].rawSize > records[$1].rawSize }) {
            let thread = load.indices.min { load[$0] < load[$1] }!
            load[thread] += records[index].rawSize + 1
            lists[thread].append(index)
        }
        assignments = lists.map { $0.sorted() }.filter { !$0.isEmpty }
    }

    /// Runs `body` for every tensor index; throws the error of the lowest-numbered failing tensor.
    func run(source: OpenCheckpointFile, _ body: (TensorDecoder, Int) throws -> Void) throws {
        let records = source.header.tensors
        if assignments.count <= 1 {
            let decoder = try TensorDecoder(source: source, records: records)
            for index in assignments.first ?? [] { try body(decoder, index) }
            return
        }
        let failures = UnsafeMutableBufferPointer<(index: Int, error: Error)?>.allocate(capacity: assignments.count)
        failures.initialize(repeating: nil)
        defer {
            failures.deinitialize()
            failures.deallocate()
        }
        DispatchQueue.concurrentPerform(iterations: assignments.count) { thread in
            let indices = assignments[thread]
            do {
                let decoder = try TensorDecoder(source: source, records: indices.map { records[$0] })
                for index in indices {
                    do { try body(decoder, index) } catch { failures[thread] = (index, error); return }
                }
            } catch {
                failures[thread] = (indices[0], error)
            }
        }
        if let first = failures.compactMap({ $0 }).min(by: { $0.index < $1.index }) { throw first.error }
    }
}
