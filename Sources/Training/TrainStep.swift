import Distributed
import Foundation
import NN
import Optim
import TensorCore
import TrainingKit

/// What one optimizer step produced.
public struct StepOutcome: Sendable {
    /// Mean over ranks of the per-rank losses (the global-batch loss).
    public var loss: Double
    public var gradientNorm: Double
    /// False when the loss or a gradient was not finite and the update was skipped.
    public var applied: Bool
    /// Seconds this rank waited for gradient all-reduce after backward (exposed communication).
    public var communicationWait: Double
    public var learningRate: Float
    /// Samples every rank's loader skipped (an image missing or not decodable) while filling this step's batches.
    public var skippedSamples = 0
}

/// One data-parallel optimizer step of any family: forward, the family's global loss over its gathered outputs plus its
/// local loss, backward with bucketed all-reduce, clipping, AdamW and the family's post-step hook.
///
/// With `accumulation` k > 1 it follows GradCache: a no-grad pass computes the global outputs of the k micro-batches,
/// the global loss and the gradient of every output are computed once over the whole batch, then each micro-batch is
/// re-run with the tape and back-propagates its slice of the cached gradients (and 1/k of its local loss). Parameter
/// gradients equal the one-shot computation, and parameters outside the tape get their gradient once.
///
/// Gradients and AdamW moments exist for the trainable parameters alone, packed in registration order
/// (`TrainableLayout`); `setTrainable` lays them out again when a stage changes the set.
///
/// With `shardOptimizer` (ZeRO-1, `--zero 1`) on several ranks, each rank keeps AdamW moments for its own range of the
/// packed buffer only (`FlatShardLayout`): buckets are reduce-scattered into that range during backward, the global
/// gradient norm is the square root of an all-reduced sum of the ranks' squares, each rank updates its range, and the
/// updated parameters are all-gathered.
public final class StepEngine {
    public let task: TrainingTask
    let communicator: Communicator
    let hyperparameters: AdamW.Hyperparameters
    let bucketBytes: Int
    let deterministic: Bool
    let shardOptimizer: Bool
    let gradientWire: WirePrecision
    let overlapCommunication: Bool
    /// Where the trainable parameters' gradients and moments are (frozen ones have none).
    private(set) var layout: TrainableLayout
    /// AdamW over the trainable parameters: moments for them alone (under ZeRO-1, this rank's range of them).
    public private(set) var optimizer: AdamW
    private(set) var reducer: GradientBucketReducer
    /// Gradients of the trainable parameters, packed in registration order (all parameters: laid out like them).
    public private(set) var gradients: UnsafeMutableBufferPointer<Float>
    /// Position of each parameter in the store's list.
    let parameterIndex: [ObjectIdentifier: Int]

    public var gradientClipNorm: Double?
    public var accumulation = 1
    /// How the tape keeps activations for backward during this engine's steps (`--activation-dtype`).
    public var activationPrecision = ActivationPrecision.fp32

    /// - Parameters:
    ///   - trainable: which parameters train at first (nil: all); `setTrainable` and `step` change it.
    ///   - shardOptimizer: ZeRO-1 (ignored on one rank, whose shard would be everything).
    ///   - gradientWire: the element type gradients travel in.
    ///   - overlapCommunication: reduce buckets while backward runs (false: all of them after backward).
    public init(task: TrainingTask, communicator: Communicator, hyperparameters: AdamW.Hyperparameters, trainable: [Bool]? = nil,
                bucketBytes: Int = 8 << 20, deterministic: Bool = false, shardOptimizer: Bool = false,
                gradientWire: WirePrecision = .fp32, overlapCommunication: Bool = true) throws {
        self.task = task
        self.communicator = communicator
        self.hyperparameters = hyperparameters
        self.bucketBytes = bucketBytes
        self.deterministic = deterministic
        let shard = shardOptimizer && communicator.size > 1
        self.shardOptimizer = shard
        self.gradientWire = gradientWire
        self.overlapCommunication = overlapCommunication
        let store = task.parameters
        let layout = trainable.map { TrainableLayout(store: store, trainable: $0) } ?? .all(store)
        let storage = try Self.storage(for: layout, task: task, communicator: communicator, hyperparameters: hyperparameters,
                                       bucketBytes: bucketBytes, deterministic: deterministic, shard: shard,
                                       wire: gradientWire, overlap: overlapCommunication)
        self.layout = layout
        optimizer = storage.optimizer
        reducer = storage.reducer
        gradients = storage.gradients
        parameterIndex = Dictionary(uniqueKeysWithValues: store.parameters.enumerated().map { (ObjectIdentifier($0.element), $0.offset) })
    }

    deinit { gradients.baseAddress?.deallocate() }

    /// The optimizer, gradient buffer and bucketed reducer of `layout`: every buffer sized by the trainable parameters.
    private static func storage(for layout: TrainableLayout, task: TrainingTask, communicator: Communicator,
                                hyperparameters: AdamW.Hyperparameters, bucketBytes: Int, deterministic: Bool, shard: Bool,
                                wire: WirePrecision, overlap: Bool)
        throws -> (optimizer: AdamW, reducer: GradientBucketReducer, gradients: UnsafeMutableBufferPointer<Float>) {
        let store = task.parameters
        let shards = shard ? try FlatShardLayout(totalCount: layout.totalCount, ranks: communicator.size) : nil
        let segments = layout.parameters.indices.map { k -> AdamW.Segment in
            let p = store.parameters[layout.parameters[k]]
            return AdamW.Segment(name: p.name, offset: layout.offsets[k], count: p.count,
                                 decay: task.decays(name: p.name, shape: p.shape), valueOffset: p.offset)
        }
        let optimizer = AdamW(segments: segments, hyperparameters: hyperparameters, shard: shards?.ranges[communicator.rank])
        let reducer = try GradientBucketReducer(communicator: communicator, layout: Array(zip(layout.offsets, layout.counts)),
                                                bucketBytes: bucketBytes, deterministic: deterministic, shards: shards,
                                                wire: wire, overlap: overlap)
        let gradients = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(layout.totalCount, 1))
        gradients.initialize(repeating: 0)
        return (optimizer, reducer, UnsafeMutableBufferPointer(rebasing: gradients[0..<layout.totalCount]))
    }

    /// Store indices of the parameters that train now (their gradients computed, all-reduced and updated).
    public var trainableParameters: [Int] { layout.parameters }

    /// Makes `trainable` the parameters that train from the next step on (same on every rank; between steps). When the
    /// set changes, gradients and moments are laid out again for the new set alone: a parameter that keeps training
    /// keeps its moments and step count, a frozen one loses them, and one that starts training starts as in a fresh
    /// AdamW (zero moments, step 0).
    public func setTrainable(_ trainable: [Bool]) throws {
        let next = TrainableLayout(store: task.parameters, trainable: trainable)
        guard next.parameters != layout.parameters else { return }
        let steps = next.parameters.map { i in layout.position[i].map { optimizer.steps[$0] } ?? 0 }
        let moments = try packedMoments().map { (first: next.repack($0.first, from: layout), second: next.repack($0.second, from: layout)) }
        // Free the old gradient buffer and moments before the new ones are allocated.
        gradients.baseAddress?.deallocate()
        gradients = UnsafeMutableBufferPointer(start: nil, count: 0)
        optimizer = AdamW(segments: [], hyperparameters: hyperparameters)
        layout = next
        let storage = try Self.storage(for: next, task: task, communicator: communicator, hyperparameters: hyperparameters,
                                       bucketBytes: bucketBytes, deterministic: deterministic, shard: shardOptimizer,
                                       wire: gradientWire, overlap: overlapCommunication)
        optimizer = storage.optimizer
        reducer = storage.reducer
        gradients = storage.gradients
        // Without ZeRO every rank carried its own copy; with it rank 0 gathered them and scatters the new shards.
        try installPackedMoments(moments, everyRankHasThem: true)
        try optimizer.restore(steps: steps)
    }

    /// Runs one step on this rank's batch; `trainable[i]` says whether parameter i trains. Frozen parameters get no
    /// gradient computation (they are not tracked), no gradient or optimizer storage, no all-reduce and no update.
    public func step(_ batch: TaskBatch, trainable: [Bool], learningRate: Float) throws -> StepOutcome {
        let previousPrecision = Tape.shared.activationPrecision
        Tape.shared.activationPrecision = activationPrecision
        defer { Tape.shared.activationPrecision = previousPrecision }
        let store = task.parameters
        try setTrainable(trainable)  // the set changes only between stages
        let layout = self.layout
        let active = layout.parameters
        gradients.update(repeating: 0)
        var reported = [Bool](repeating: false, count: active.count)
        precondition(batch.count % accumulation == 0, "step: batch \(batch.count) is not divisible into \(accumulation) micro-batches")
        let micro = batch.count / accumulation
        func microBatch(_ m: Int) -> TaskBatch { batch.slice((m * micro)..<((m + 1) * micro)) }
        func track() { store.track { trainable[self.index(of: $0)] } }

        // Global outputs of the whole local batch: on the tape when there is one micro-batch, otherwise cached.
        var firstOutputs: TaskOutputs?
        var globalOutputs: [Tensor]
        if accumulation == 1 {
            track()
            firstOutputs = task.forward(batch)
            globalOutputs = firstOutputs!.global
        } else {
            store.untrack()
            globalOutputs = withoutGradients {
                let parts = (0..<accumulation).map { task.forward(microBatch($0)).global }
                guard let first = parts.first, !first.isEmpty else { return [] }
                return first.indices.map { o in Tensor.concatenate(parts.map { $0[o] }, axis: 0) }
            }
        }
        let global = globalOutputs.isEmpty ? nil : try task.globalLoss(globalOutputs, communicator: communicator)
        var localLossSum: Float = 0

        // Backward through the model, seeded with the gradients of this rank's outputs and 1/k of each local loss.
        for m in 0..<accumulation {
            let outputs: TaskOutputs
            if let first = firstOutputs, accumulation == 1 {
                outputs = first
            } else {
                track()
                outputs = task.forward(microBatch(m))
            }
            var seeds: [(variable: Int, gradient: Tensor)] = []
            if let global {
                for (output, gradient) in zip(outputs.global, global.outputGradients) where output.isTracked {
                    let slice = accumulation == 1 ? gradient : gradient.slice(axis: 0, (m * micro)..<((m + 1) * micro))
                    seeds.append((output.variable, slice))
                }
            }
            if let local = outputs.local {
                localLossSum += local.scalar
                if local.isTracked { seeds.append((local.variable, Tensor(scalar: 1 / Float(accumulation)))) }
            }
            firstOutputs = nil
            // Gradients accumulate straight into the packed buffer (an embedding's only in the rows read).
            var owners: [Int: Int] = [:], destinations: [Int: UnsafeMutablePointer<Float>] = [:]
            for (k, i) in active.enumerated() {
                guard let leaf = store.parameters[i].leaf else { continue }
                owners[leaf.variable] = k
                destinations[leaf.variable] = gradients.baseAddress! + layout.offsets[k]
            }
            let last = m == accumulation - 1
            var failure: Error?
            if !seeds.isEmpty {
                _ = Tape.shared.backward(seeds: seeds, keepingLeafGradients: false, accumulatingInto: destinations) { variable, _ in
                    guard let k = owners[variable] else { return }
                    if last {
                        reported[k] = true
                        do { try self.reducer.gradientReady(parameter: k, gradients: self.gradients.baseAddress!) } catch { failure = failure ?? error }
                    }
                    try? self.reducer.poll()
                }
            } else {
                Tape.shared.reset()
            }
            store.untrack()
            if let failure { throw failure }
        }

        // Parameters outside the tape (a loss's temperature) and parameters no path reached.
        for (parameter, values) in global?.parameterGradients ?? [] {
            guard let range = layout.packedRange(of: index(of: parameter)) else { continue }
            let destination = gradients.baseAddress! + range.lowerBound
            for j in values.indices { destination[j] += values[j] }
        }
        for k in active.indices where !reported[k] {
            try reducer.gradientReady(parameter: k, gradients: gradients.baseAddress!)
        }
        let wait = try reducer.finish()

        // Global loss for logging: the mean of the per-rank losses; the skipped samples of all ranks ride along.
        var lossSum = [Double(global?.loss ?? 0) + Double(localLossSum) / Double(accumulation), Double(batch.skipped)]
        try communicator.allReduce(&lossSum, .sum)
        let loss = lossSum[0] / Double(communicator.size)

        var squares: Double = 0
        forEachReducedGradient { g, count in squares += Double(Kernels.sumOfSquares(g, count)) }
        // A shard holds part of the gradient; every rank needs the norm of all of it, and so the same clip and skip.
        if reducer.shards != nil { squares = try communicator.allReduce(squares, .sum) }
        let norm = squares.squareRoot()
        let finite = loss.isFinite && norm.isFinite
        if finite, let maxNorm = gradientClipNorm, norm > maxNorm {
            let factor = Float(maxNorm / (norm + 1e-6))
            forEachReducedGradient { g, count in for j in 0..<count { g[j] *= factor } }
        }
        if finite {
            let reduced = reducer.shards == nil ? gradients.baseAddress! : reducer.shardGradients.baseAddress!
            optimizer.step(parameters: store.values.pointer, gradients: reduced, lr: learningRate)
            if let shards = reducer.shards { try gatherUpdatedParameters(shards) }
            task.didStep()
        }
        return StepOutcome(loss: loss, gradientNorm: norm, applied: finite, communicationWait: wait, learningRate: learningRate,
                           skippedSamples: Int(lossSum[1]))
    }

    private func index(of parameter: Parameter) -> Int { parameterIndex[ObjectIdentifier(parameter)]! }

    /// Every rank gets the parameters each rank updated in its range of the packed space: in place when the trainable
    /// parameters are one run of the parameter buffer, otherwise through the gradient buffer (free after the update).
    private func gatherUpdatedParameters(_ shards: FlatShardLayout) throws {
        let store = task.parameters, own = shards.ranges[communicator.rank]
        if let start = layout.contiguousValueOffset {
            let values = UnsafeMutableBufferPointer(rebasing: store.flatValues[start..<(start + layout.totalCount)])
            try communicator.allGatherV(UnsafeBufferPointer(rebasing: values[own]), into: values, counts: shards.counts)
            return
        }
        layout.copy(own, values: store.values.pointer, packed: gradients.baseAddress!, store: store, toPacked: true)
        try communicator.allGatherV(UnsafeBufferPointer(rebasing: gradients[own]), into: gradients, counts: shards.counts)
        layout.copy(0..<layout.totalCount, values: store.values.pointer, packed: gradients.baseAddress!, store: store, toPacked: false)
    }

    /// Calls `body` with each trainable parameter's averaged gradient that this rank holds after the reduction: the
    /// whole parameter, or its piece inside this rank's shard.
    private func forEachReducedGradient(_ body: (UnsafeMutablePointer<Float>, Int) -> Void) {
        guard let shards = reducer.shards else {
            for k in layout.parameters.indices { body(gradients.baseAddress! + layout.offsets[k], layout.counts[k]) }
            return
        }
        let own = shards.ranges[communicator.rank]
        for k in layout.parameters.indices {
            let piece = shards.piece(of: layout.offsets[k]..<(layout.offsets[k] + layout.counts[k]), ownedBy: communicator.rank)
            if !piece.isEmpty { body(reducer.shardGradients.baseAddress! + (piece.lowerBound - own.lowerBound), piece.count) }
        }
    }

    /// Bytes of AdamW moments this rank holds: the trainable parameters', or its shard of them under ZeRO-1.
    public var optimizerStateBytes: Int { 2 * optimizer.shard.count * MemoryLayout<Float>.stride }

    /// Bytes of the gradient buffers this rank holds: the trainable parameters' gradients, and under ZeRO-1 the
    /// averaged gradients of its shard.
    public var gradientBytes: Int { (gradients.count + reducer.shardGradients.count) * MemoryLayout<Float>.stride }

    /// Elements of the trainable parameters (what gradients and moments cover).
    public var trainableCount: Int { layout.totalCount }

    /// Whether AdamW's state is sharded over the ranks (ZeRO-1 on more than one rank).
    public var isOptimizerSharded: Bool { reducer.shards != nil }

    /// AdamW's step count of every parameter of the store (0 for a frozen one, which has no state).
    public var optimizerSteps: [Int] {
        task.parameters.parameters.indices.map { i in layout.position[i].map { optimizer.steps[$0] } ?? 0 }
    }

    /// The packed moments of the trainable parameters: on every rank, or under ZeRO-1 gathered to rank 0 (nil on the
    /// others, which must call this too).
    private func packedMoments() throws -> (first: [Float], second: [Float])? {
        guard let shards = reducer.shards else { return (optimizer.firstMoment, optimizer.secondMoment) }
        let isRoot = communicator.rank == 0
        var first = [Float](repeating: 0, count: isRoot ? layout.totalCount : 0), second = first
        try optimizer.withMoments { m, v in
            try first.withUnsafeMutableBufferPointer { try shards.gatherToRoot(m, into: isRoot ? $0 : nil, communicator: communicator) }
            try second.withUnsafeMutableBufferPointer { try shards.gatherToRoot(v, into: isRoot ? $0 : nil, communicator: communicator) }
        }
        return isRoot ? (first, second) : nil
    }

    /// Installs packed moments of the trainable parameters: without ZeRO-1 each rank's own copy (`everyRankHasThem`) or
    /// rank 0's broadcast; under ZeRO-1 rank 0's (nil elsewhere) scattered as each rank's shard.
    private func installPackedMoments(_ moments: (first: [Float], second: [Float])?, everyRankHasThem: Bool) throws {
        let isRoot = communicator.rank == 0
        var first = moments?.first ?? [], second = moments?.second ?? []
        if (moments != nil || isRoot) && (first.count != layout.totalCount || second.count != layout.totalCount) {
            throw TrainingError("optimizer moments of \(first.count)/\(second.count) values for \(layout.totalCount) trainable parameter values")
        }
        try optimizer.withMoments { m, v in
            if let shards = reducer.shards {
                try first.withUnsafeMutableBufferPointer { try shards.scatterFromRoot(isRoot ? $0 : nil, into: m, communicator: communicator) }
                try second.withUnsafeMutableBufferPointer { try shards.scatterFromRoot(isRoot ? $0 : nil, into: v, communicator: communicator) }
            } else {
                if isRoot || everyRankHasThem { _ = m.update(from: first); _ = v.update(from: second) }
                if !everyRankHasThem {
                    try communicator.broadcast(m, root: 0)
                    try communicator.broadcast(v, root: 0)
                }
            }
        }
    }

    /// The full AdamW moments, laid out like the parameters (zeros for frozen ones, which have none), on rank 0 (nil on
    /// the others, which must call this too): for checkpoints, which always hold the full state.
    public func gatherOptimizerMoments() throws -> (first: [Float], second: [Float])? {
        guard let packed = try packedMoments(), communicator.rank == 0 else { return nil }
        let full = TrainableLayout.all(task.parameters)
        return (full.repack(packed.first, from: layout), full.repack(packed.second, from: layout))
    }

    /// Installs a checkpoint's optimizer state on every rank: rank 0's full moments (`moments`, laid out like the
    /// parameters, read on rank 0 only; whole or as each rank's shard) and every parameter's step count. Only the
    /// trainable parameters' part is kept, so any checkpoint resumes with or without ZeRO-1 and on any world size.
    public func restoreOptimizerState(moments: (first: [Float], second: [Float])?, steps: [Int]) throws {
        let store = task.parameters, isRoot = communicator.rank == 0
        if isRoot && (moments?.first.count != store.count || moments?.second.count != store.count) {
            throw TrainingError("optimizer moments of \(moments?.first.count ?? 0)/\(moments?.second.count ?? 0) values for \(store.count) parameter values")
        }
        guard steps.count == store.parameters.count else {
            throw TrainingError("optimizer state has \(steps.count) step counters, expected \(store.parameters.count)")
        }
        let full = TrainableLayout.all(store)
        let packed = isRoot ? moments.map { (first: layout.repack($0.first, from: full), second: layout.repack($0.second, from: full)) } : nil
        try installPackedMoments(packed, everyRankHasThem: false)
        try optimizer.restore(steps: layout.parameters.map { steps[$0] })
    }
}
