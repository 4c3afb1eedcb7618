import CMPI
import TensorCore

/// One collective for the MPI thread or a direct caller; pointers stay owned by the caller until it completes.
enum MPIJob {
    case barrier
    case broadcast(buffer: UnsafeMutableRawPointer?, count: Int, kind: ScalarKind, root: Int)
    case allReduce(buffer: UnsafeMutableRawPointer?, count: Int, kind: ScalarKind, operation: ReduceOperation)
    case allGatherV(local: UnsafeRawPointer?, gathered: UnsafeMutableRawPointer?, counts: [Int], kind: ScalarKind)
    case reduceScatter(input: UnsafeRawPointer?, output: UnsafeMutableRawPointer?, counts: [Int], kind: ScalarKind,
                       operation: ReduceOperation)
    /// Averages Float32 values in place, carried as bfloat16 (see `Communicator.startAverage`).
    case averageBFloat16(buffer: UnsafeMutablePointer<Float>?, count: Int)
    /// Averages `input` and keeps this rank's segment, carried as bfloat16 (see `Communicator.startAverageScatter`).
    case averageScatterBFloat16(input: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>?, counts: [Int])
    /// Arbitrary work that must be serialised with the other MPI calls (raw MPI calls, settings).
    case run((MPIJobExecutor) throws -> Void)
    case finalize

    /// The collective's name as printed in timeout messages.
    var name: StaticString {
        switch self {
        case .barrier: return "barrier"
        case .broadcast: return "broadcast"
        case .allReduce: return "allReduce"
        case .allGatherV: return "allGatherV"
        case .reduceScatter: return "reduceScatter"
        case .averageBFloat16: return "bf16 allReduce"
        case .averageScatterBFloat16: return "bf16 reduceScatter"
        case .run: return "custom MPI work"
        case .finalize: return "finalize"
        }
    }
}

/// Turns an MPI return code into a Swift error carrying MPI's error string.
public func checkMPI(_ code: Int32, _ operation: String) throws {
    guard code != CMPI_success() else { return }
    var text = [CChar](repeating: 0, count: Int(CMPI_maxErrorString()) + 1)
    var length: Int32 = 0
    let message: String
    if MPI_Error_string(code, &text, &length) == CMPI_success() {
        message = String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    } else {
        message = "unknown MPI error"
    }
    throw DistributedError.mpi(operation: operation, code: code, message: message)
}

/// Runs jobs with MPI calls; used by one thread at a time (the MPI thread or a direct caller).
final class MPIJobExecutor {
    let communicator: MPI_Comm
    let rank: Int
    let size: Int
    /// Largest element count passed to one MPI call; MPI counts are 32-bit.
    var chunkElementLimit = Int(Int32.max)
    // Reused for every variable-count collective so those calls do not allocate.
    private var counts32: [Int32] = []
    private var displacements32: [Int32] = []
    /// Reused bfloat16 buffers of the `--grad-comm-dtype bf16` collectives.
    let wire = BFloat16WireBuffers()

    init(communicator: MPI_Comm, rank: Int, size: Int) {
        self.communicator = communicator
        self.rank = rank
        self.size = size
    }

    func execute(_ job: MPIJob) throws {
        switch job {
        case .barrier:
            try checkMPI(MPI_Barrier(communicator), "MPI_Barrier")
        case let .broadcast(buffer, count, kind, root):
            try broadcastChunked(buffer, count: count, kind: kind, root: root)
        case let .allReduce(buffer, count, kind, operation):
            try allReduce(buffer, count: count, kind: kind, operation: operation)
        case let .allGatherV(local, gathered, counts, kind):
            try allGatherV(local, gathered, counts: counts, kind: kind)
        case let .reduceScatter(input, output, counts, kind, operation):
            try reduceScatter(input, output, counts: counts, kind: kind, operation: operation)
        case let .averageBFloat16(buffer, count):
            try averageBFloat16(buffer, count: count)
        case let .averageScatterBFloat16(input, output, counts):
            try averageScatterBFloat16(input, output, counts: counts)
        case let .run(body):
            try body(self)
        case .finalize:
            try checkMPI(MPI_Finalize(), "MPI_Finalize")
        }
    }

    private func allReduce(_ buffer: UnsafeMutableRawPointer?, count: Int, kind: ScalarKind, operation: ReduceOperation) throws {
        guard count > 0, let buffer else { return }
        let stride = kind.byteSize
        var offset = 0
        while offset < count {
            let n = min(chunkElementLimit, count - offset)
            try checkMPI(MPI_Allreduce(CMPI_inPlace(), buffer + offset * stride, Int32(n), kind.mpiType,
                                       operation.mpiOp, communicator), "MPI_Allreduce")
            offset += n
        }
        if operation == .average { divideInPlace(buffer, count: count, kind: kind, by: size) }
    }

    private func broadcastChunked(_ buffer: UnsafeMutableRawPointer?, count: Int, kind: ScalarKind, root: Int) throws {
        guard count > 0, let buffer else { return }
        let stride = kind.byteSize
        var offset = 0
        while offset < count {
            let n = min(chunkElementLimit, count - offset)
            try checkMPI(MPI_Bcast(buffer + offset * stride, Int32(n), kind.mpiType, Int32(root), communicator), "MPI_Bcast")
            offset += n
        }
    }

    /// Fills the reusable 32-bit count/displacement arrays; false when some value does not fit.
    private func fillInt32Counts(_ counts: [Int]) -> Bool {
        counts32.removeAll(keepingCapacity: true)
        displacements32.removeAll(keepingCapacity: true)
        var displacement = 0
        for c in counts {
            guard c <= chunkElementLimit, displacement <= chunkElementLimit else { return false }
            counts32.append(Int32(c))
            displacements32.append(Int32(displacement))
            displacement += c
        }
        return displacement <= chunkElementLimit
    }

    private func allGatherV(_ local: UnsafeRawPointer?, _ gathered: UnsafeMutableRawPointer?, counts: [Int], kind: ScalarKind) throws {
        let stride = kind.byteSize
        let myOffset = counts[..<rank].reduce(0, +)
        let mySlot = gathered.map { $0 + myOffset * stride }
        let localIsInPlace = local != nil && local == mySlot.map { UnsafeRawPointer($0) }
        if fillInt32Counts(counts) {
            let send = localIsInPlace ? UnsafeRawPointer(CMPI_inPlace()) : local
            try checkMPI(MPI_Allgatherv(send, counts32[rank], kind.mpiType, gathered, counts32, displacements32,
                                        kind.mpiType, communicator), "MPI_Allgatherv")
            return
        }
        // Too large for 32-bit counts or displacements: every rank broadcasts its segment in chunks.
        if !localIsInPlace, counts[rank] > 0, let local, let mySlot {
            mySlot.copyMemory(from: local, byteCount: counts[rank] * stride)
        }
        var offset = 0
        for (root, count) in counts.enumerated() {
            try broadcastChunked(gathered.map { $0 + offset * stride }, count: count, kind: kind, root: root)
            offset += count
        }
    }

    private func reduceScatter(_ input: UnsafeRawPointer?, _ output: UnsafeMutableRawPointer?, counts: [Int],
                               kind: ScalarKind, operation: ReduceOperation) throws {
        let stride = kind.byteSize
        if fillInt32Counts(counts) {
            try checkMPI(MPI_Reduce_scatter(input, output, counts32, kind.mpiType, operation.mpiOp, communicator),
                         "MPI_Reduce_scatter")
        } else {
            // Too large for 32-bit counts: reduce each rank's segment to that rank, chunk by chunk.
            var segmentStart = 0
            for (root, count) in counts.enumerated() {
                var offset = 0
                while offset < count {
                    let n = min(chunkElementLimit, count - offset)
                    let send = input.map { $0 + (segmentStart + offset) * stride }
                    let receive = root == rank ? output.map { $0 + offset * stride } : nil
                    try checkMPI(MPI_Reduce(send, receive, Int32(n), kind.mpiType, operation.mpiOp, Int32(root),
                                            communicator), "MPI_Reduce")
                    offset += n
                }
                segmentStart += count
            }
        }
        if operation == .average, let output { divideInPlace(output, count: counts[rank], kind: kind, by: size) }
    }
}

extension ScalarKind {
    var mpiType: MPI_Datatype? {
        switch self {
        case .float32: return CMPI_float()
        case .float64: return CMPI_double()
        case .int32: return CMPI_int()
        case .int64: return CMPI_int64()
        case .uint64: return CMPI_uint64()
        case .uint16: return CMPI_uint16()
        case .byte: return CMPI_byte()
        }
    }

    var byteSize: Int {
        switch self {
        case .float32, .int32: return 4
        case .float64, .int64, .uint64: return 8
        case .uint16: return 2
        case .byte: return 1
        }
    }
}

extension ReduceOperation {
    var mpiOp: MPI_Op? {
        switch self {
        case .sum, .average: return CMPI_sum()
        case .max: return CMPI_max()
        case .min: return CMPI_min()
        }
    }
}
