import Foundation

/// Averages gradients over ranks while backward still runs, bucket by bucket (PyTorch DDP style).
///
/// All gradients live in one flat Float buffer; parameter i occupies `layout[i]`. During backward
/// call `gradientReady` as each parameter's gradient becomes final and `poll` between operations;
/// after backward call `finish`, which waits for the outstanding buckets. Every rank must use the
/// same layout, bucket size and active set. In non-deterministic mode a bucket is launched the
/// moment it is complete, so all ranks must also report parameters in the same order; in
/// deterministic mode buckets are launched and completed strictly in bucket order, so the sequence
/// of collectives never depends on call order or timing.
///
/// Given a `FlatShardLayout` (ZeRO-1), each bucket is reduce-scattered instead: every rank receives only the average
/// of the part of the bucket that its shard covers, in `shardGradients`, and the flat buffer keeps this rank's own
/// gradients. `wire` chooses the element type on the wire (Float32 or bfloat16) for both kinds of bucket.
///
/// With `overlap` false nothing is launched during backward: `finish` launches every bucket in order and waits, so
/// the whole communication is exposed (what overlap hides is the difference).
public final class GradientBucketReducer {
    /// Bucket sizes as in PyTorch DDP's default `bucket_cap_mb=25`.
    public static let defaultBucketBytes = 25 * 1024 * 1024

    public let plan: GradientBucketPlan
    public let deterministic: Bool
    public let wire: WirePrecision
    /// Whether buckets are launched during backward (true) or all in `finish` (false).
    public let overlap: Bool
    /// ZeRO-1: the ranks' shards of the flat buffer; nil when every rank receives every average.
    public let shards: FlatShardLayout?
    /// ZeRO-1: after `finish`, the averaged gradients of this rank's shard (`shards.ranges[rank]`), indexed from its start.
    public let shardGradients: UnsafeMutableBufferPointer<Float>
    private let communicator: Communicator
    private let layout: [(offset: Int, count: Int)]

    private var isActive: [Bool]
    private var isReady: [Bool]
    private var buckets: [BucketState]
    /// Buckets launched this step and not yet completed, in launch order.
    private var inFlight: [Int] = []
    /// Deterministic mode: the next bucket index allowed to launch.
    private var nextBucketToLaunch = 0
    private var stepGradients: UnsafeMutablePointer<Float>?
    private var reportedThisStep = 0

    /// Builds the bucket plan; all parameters start active.
    public init(communicator: Communicator, layout: [(offset: Int, count: Int)],
                bucketBytes: Int = GradientBucketReducer.defaultBucketBytes, deterministic: Bool = true,
                shards: FlatShardLayout? = nil, wire: WirePrecision = .fp32, overlap: Bool = true) throws {
        if let shards, shards.ranges.count != communicator.size {
            throw DistributedError.invalidArgument("a shard layout for \(shards.ranges.count) ranks on \(communicator.size)")
        }
        self.communicator = communicator
        self.layout = layout
        self.deterministic = deterministic
        self.shards = shards
        self.wire = wire
        self.overlap = overlap
        let shardCount = shards?.ranges[communicator.rank].count ?? 0
        let shardStorage = UnsafeMutablePointer<Float>.allocate(capacity: max(shardCount, 1))
        shardStorage.initialize(repeating: 0, count: max(shardCount, 1))
        shardGradients = UnsafeMutableBufferPointer(start: shardStorage, count: shardCount)
        plan = try GradientBucketPlan(layout: layout, bucketBytes: bucketBytes)
        isActive = [Bool](repeating: true, count: layout.count)
        isReady = [Bool](repeating: false, count: layout.count)
        buckets = plan.buckets.map { BucketState(bucket: $0) }
        inFlight.reserveCapacity(buckets.count)
        configureActiveParameters()
    }

    deinit {
        // A bucket still being reduced may point into a staging buffer; let it finish first.
        for bucket in inFlight { try? buckets[bucket].request?.wait() }
        for state in buckets { state.staging?.deallocate() }
        shardGradients.baseAddress!.deallocate()
    }

    /// Restricts reduction to `parameters` (others are frozen: neither awaited nor reduced) from the
    /// next step on; must be the same set on every rank and called between steps.
    public func setActive<S: Sequence>(parameters: S) throws where S.Element == Int {
        try requireIdle("setActive")
        var active = [Bool](repeating: false, count: layout.count)
        for p in parameters {
            guard active.indices.contains(p) else { throw DistributedError.invalidArgument("setActive: no parameter \(p)") }
            active[p] = true
        }
        isActive = active
        configureActiveParameters()
    }

    /// The parameters reduced in the coming steps.
    public var activeParameters: [Int] { layout.indices.filter { isActive[$0] } }

    /// Buckets launched in the current step (after `finish`, the last step), in launch order; for tests and diagnostics.
    public private(set) var launchOrder: [Int] = []

    /// Records that parameter `parameter`'s gradient in `gradients` (the flat buffer's base) is final,
    /// and starts the all-reduce of every bucket this completes. Frozen parameters are ignored.
    public func gradientReady(parameter: Int, gradients: UnsafeMutablePointer<Float>) throws {
        guard isReady.indices.contains(parameter) else {
            throw DistributedError.invalidArgument("gradientReady: no parameter \(parameter) (have \(layout.count))")
        }
        guard isActive[parameter] else { return }
        guard !isReady[parameter] else {
            throw DistributedError.invalidState("parameter \(parameter) was reported ready twice in one step")
        }
        if let base = stepGradients, base != gradients {
            throw DistributedError.invalidState("gradientReady: the gradient buffer moved during the step")
        }
        if stepGradients == nil { launchOrder.removeAll(keepingCapacity: true) }
        stepGradients = gradients
        isReady[parameter] = true
        reportedThisStep += 1
        let bucket = plan.bucketOfParameter[parameter]
        buckets[bucket].pending -= 1
        guard overlap else { return }
        if deterministic {
            while nextBucketToLaunch < buckets.count && buckets[nextBucketToLaunch].pending == 0 {
                try launch(nextBucketToLaunch, gradients: gradients)
                nextBucketToLaunch += 1
            }
        } else if buckets[bucket].pending == 0 {
            try launch(bucket, gradients: gradients)
        }
    }

    /// Completes buckets whose all-reduce has finished (in order when deterministic) without blocking.
    public func poll() throws {
        var index = 0
        while index < inFlight.count {
            let bucket = inFlight[index]
            if try buckets[bucket].request?.test() ?? true {
                complete(bucket)
                inFlight.remove(at: index)
            } else if deterministic {
                return
            } else {
                index += 1
            }
        }
    }

    /// Waits for every bucket of the step, leaves the averaged gradients in the flat buffer (sharded: this rank's
    /// part of them in `shardGradients`), resets
    /// for the next step and returns the seconds spent waiting (the exposed communication time).
    @discardableResult
    public func finish() throws -> Double {
        let expected = isActive.lazy.filter { $0 }.count
        if reportedThisStep != expected {
            let missing = layout.indices.filter { isActive[$0] && !isReady[$0] }
            throw DistributedError.invalidState(
                "finish: \(missing.count) active parameters were never reported ready (first: \(missing.prefix(5).map(String.init).joined(separator: ", ")))")
        }
        // Empty or skipped buckets at the end never trigger a launch from gradientReady; without overlap, none did.
        let start = DispatchTime.now().uptimeNanoseconds
        if deterministic || !overlap, let gradients = stepGradients {
            while nextBucketToLaunch < buckets.count {
                try launch(nextBucketToLaunch, gradients: gradients)
                nextBucketToLaunch += 1
            }
        }
        for bucket in inFlight {
            try buckets[bucket].request?.wait()
            complete(bucket)
        }
        let waited = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        inFlight.removeAll(keepingCapacity: true)
        resetStep()
        return waited
    }

    /// Drops the current step's progress without waiting (e.g. after a skipped step); throws if
    /// all-reduces are still running, since their buffers would be freed under them.
    public func reset() throws {
        try requireIdle("reset")
        resetStep()
    }

    private func launch(_ bucket: Int, gradients: UnsafeMutablePointer<Float>) throws {
        let state = buckets[bucket]
        guard state.activeElementCount > 0 || !state.activeParameters.isEmpty else { return }
        launchOrder.append(bucket)
        // One rank has nothing to average with (a sharded one still moves its gradients to the shard).
        guard communicator.size > 1 || shards != nil, state.activeElementCount > 0 else { return }
        let buffer: UnsafeMutableBufferPointer<Float>
        if let range = state.inPlaceRange, let shards {
            let piece = shards.piece(of: range, ownedBy: communicator.rank)
            let output = shardGradients.baseAddress! + (piece.lowerBound - shards.ranges[communicator.rank].lowerBound)
            buckets[bucket].request = try communicator.startAverageScatter(
                UnsafeBufferPointer(start: gradients + range.lowerBound, count: range.count),
                into: UnsafeMutableBufferPointer(start: output, count: piece.count), counts: state.scatterCounts, wire: wire)
            inFlight.append(bucket)
            return
        } else if let range = state.inPlaceRange {
            buffer = UnsafeMutableBufferPointer(start: gradients + range.lowerBound, count: range.count)
        } else {
            let staging = buckets[bucket].staging!
            var offset = 0
            for p in state.activeParameters {
                (staging.baseAddress! + offset).update(from: gradients + layout[p].offset, count: layout[p].count)
                offset += layout[p].count
            }
            buffer = UnsafeMutableBufferPointer(rebasing: staging[0..<offset])
        }
        buckets[bucket].request = try communicator.startAverage(buffer, wire: wire)
        inFlight.append(bucket)
    }

    /// Copies a staged bucket's averaged values back to the flat buffer and, when sharded, this rank's part of them
    /// to `shardGradients` (scattered parameters are all-reduced whole: only frozen stages scatter them).
    private func complete(_ bucket: Int) {
        let state = buckets[bucket]
        buckets[bucket].request = nil
        guard state.inPlaceRange == nil, let staging = state.staging, let gradients = stepGradients else { return }
        var offset = 0
        for p in state.activeParameters {
            (gradients + layout[p].offset).update(from: staging.baseAddress! + offset, count: layout[p].count)
            offset += layout[p].count
            if let shards {
                let owned = shards.ranges[communicator.rank]
                let piece = shards.piece(of: layout[p].offset..<(layout[p].offset + layout[p].count), ownedBy: communicator.rank)
                (shardGradients.baseAddress! + (piece.lowerBound - owned.lowerBound)).update(from: gradients + piece.lowerBound, count: piece.count)
            }
        }
    }

    private func requireIdle(_ what: String) throws {
        guard inFlight.isEmpty else {
            throw DistributedError.invalidState("\(what): \(inFlight.count) bucket all-reduces are still running; call finish() first")
        }
    }

    private func configureActiveParameters() {
        for b in buckets.indices {
            let active = plan.buckets[b].parameters.filter { isActive[$0] }
            buckets[b].activeParameters = active
            buckets[b].activeElementCount = active.reduce(0) { $0 + layout[$1].count }
            buckets[b].inPlaceRange = active.isEmpty ? nil : GradientBucketPlan.contiguousRange(of: active, in: layout)
            buckets[b].scatterCounts = buckets[b].inPlaceRange.flatMap { shards?.counts(within: $0) } ?? []
            if buckets[b].inPlaceRange == nil && !active.isEmpty && buckets[b].staging == nil {
                buckets[b].staging = .allocate(capacity: plan.buckets[b].elementCount)
            }
        }
        resetStep()
    }

    private func resetStep() {
        for b in buckets.indices {
            buckets[b].pending = buckets[b].activeParameters.count
            buckets[b].request = nil
        }
        for p in isReady.indices { isReady[p] = false }
        nextBucketToLaunch = 0
        stepGradients = nil
        reportedThisStep = 0
        if !deterministic {
            // Buckets with no active parameter never complete through gradientReady.
            for b in buckets.indices where buckets[b].activeParameters.isEmpty { buckets[b].pending = -1 }
        }
    }
}

/// Per-bucket bookkeeping of a `GradientBucketReducer`.
private struct BucketState {
    let bucket: GradientBucket
    var activeParameters: [Int] = []
    var activeElementCount = 0
    /// Set when the active parameters tile one range: reduced in place.
    var inPlaceRange: Range<Int>?
    /// Sharded: how many elements of `inPlaceRange` each rank owns (computed once, not at every launch).
    var scatterCounts: [Int] = []
    /// Packing space for buckets whose active parameters are scattered in the flat buffer.
    var staging: UnsafeMutableBufferPointer<Float>?
    /// Active parameters not yet reported this step.
    var pending = 0
    var request: CollectiveRequest?

    init(bucket: GradientBucket) { self.bucket = bucket }
}
