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
/// With `shardOptimizer` (ZeRO-1, `--zero 1`) on several ranks, each rank keeps AdamW moments for its own range of the
/// flat buffer only (`FlatShardLayout`): buckets are reduce-scattered into that range during backward, the global
/// gradient norm is the square root of an all-reduced sum of the ranks' squares, each rank updates its range, and the
/// updated parameters are all-gathered.
public final class StepEngine {
    public let task: TrainingTask
    let communicator: Communicator
    public let optimizer: AdamW
    let reducer: GradientBucketReducer
    /// Parameter gradients, flat, laid out like the parameters.
    public private(set) var gradients: UnsafeMutableBufferPointer<Float>
    /// Position of each parameter in the store's list.
    let parameterIndex: [ObjectIdentifier: Int]
    private var activeParameters: [Int]?

    public var gradientClipNorm: Double?
    public var accumulation = 1
    /// How the tape keeps activations for backward during this engine's steps (`--activation-dtype`).
    public var activationPrecision = ActivationPrecision.fp32

    /// - Parameters:
    ///   - shardOptimizer: ZeRO-1 (ignored on one rank, whose shard would be everything).
    ///   - gradientWire: the element type gradients travel in.
    ///   - overlapCommunication: reduce buckets while backward runs (false: all of them after backward).
    public init(task: TrainingTask, communicator: Communicator, hyperparameters: AdamW.Hyperparameters,
                bucketBytes: Int = 8 << 20, deterministic: Bool = false, shardOptimizer: Bool = false,
                gradientWire: WirePrecision = .fp32, overlapCommunication: Bool = true) throws {
        self.task = task
        self.communicator = communicator
        let store = task.parameters
        let shards = shardOptimizer && communicator.size > 1
            ? try FlatShardLayout(totalCount: store.count, ranks: communicator.size) : nil
        optimizer = AdamW(segments: store.parameters.map {
            AdamW.Segment(name: $0.name, offset: $0.offset, count: $0.count, decay: task.decays(name: $0.name, shape: $0.shape))
        }, hyperparameters: hyperparameters, shard: shards?.ranges[communicator.rank])
        reducer = try GradientBucketReducer(communicator: communicator, layout: store.parameters.map { ($0.offset, $0.count) },
                                            bucketBytes: bucketBytes, deterministic: deterministic, shards: shards,
                                            wire: gradientWire, overlap: overlapCommunication)
        gradients = .allocate(capacity: max(store.count, 1))
        gradients.initialize(repeating: 0)
        parameterIndex = Dictionary(uniqueKeysWithValues: store.parameters.enumerated().map { (ObjectIdentifier($0.element), $0.offset) })
    }

    deinit { gradients.deallocate() }

    /// Runs one step on this rank's batch; `trainable[i]` says whether parameter i trains. Frozen parameters get no
    /// gradient computation (they are not tracked), no all-reduce and no optimizer update.
    public func step(_ batch: TaskBatch, trainable: [Bool], learningRate: Float) throws -> StepOutcome {
        let previousPrecision = Tape.shared.activationPrecision
        Tape.shared.activationPrecision = activationPrecision
        defer { Tape.shared.activationPrecision = previousPrecision }
        let store = task.parameters
        let active = trainable.indices.filter { trainable[$0] }
        for i in active {
            let p = store.parameters[i]
            (gradients.baseAddress! + p.offset).update(repeating: 0, count: p.count)
        }
        if active != activeParameters {  // the set changes only between stages
            try reducer.setActive(parameters: active)
            activeParameters = active
        }
        var reported = [Bool](repeating: false, count: store.parameters.count)
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
            // Gradients accumulate straight into the flat buffer (an embedding's only in the rows read).
            var owners: [Int: Int] = [:], destinations: [Int: UnsafeMutablePointer<Float>] = [:]
            for (i, p) in store.parameters.enumerated() {
                guard let leaf = p.leaf else { continue }
                owners[leaf.variable] = i
                destinations[leaf.variable] = gradients.baseAddress! + p.offset
            }
            let last = m == accumulation - 1
            var failure: Error?
            if !seeds.isEmpty {
                _ = Tape.shared.backward(seeds: seeds, keepingLeafGradients: false, accumulatingInto: destinations) { variable, _ in
                    guard let i = owners[variable] else { return }
                    if last {
                        reported[i] = true
                        do { try self.reducer.gradientReady(parameter: i, gradients: self.gradients.baseAddress!) } catch { failure = failure ?? error }
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
            let i = index(of: parameter)
            guard trainable[i] else { continue }
            let destination = gradients.baseAddress! + parameter.offset
            for j in values.indices { destination[j] += values[j] }
        }
        for i in active where !reported[i] {
            try reducer.gradientReady(parameter: i, gradients: gradients.baseAddress!)
        }
        let wait = try reducer.finish()

        // Global loss for logging: the mean of the per-rank losses; the skipped samples of all ranks ride along.
        var lossSum = [Double(global?.loss ?? 0) + Double(localLossSum) / Double(accumulation), Double(batch.skipped)]
        try communicator.allReduce(&lossSum, .sum)
        let loss = lossSum[0] / Double(communicator.size)

        var squares: Double = 0
        forEachReducedGradient(of: active) { g, count in squares += Double(Kernels.sumOfSquares(g, count)) }
        // A shard holds part of the gradient; every rank needs the norm of all of it, and so the same clip and skip.
        if reducer.shards != nil { squares = try communicator.allReduce(squares, .sum) }
        let norm = squares.squareRoot()
        let finite = loss.isFinite && norm.isFinite
        if finite, let maxNorm = gradientClipNorm, norm > maxNorm {
            let factor = Float(maxNorm / (norm + 1e-6))
            forEachReducedGradient(of: active) { g, count in for j in 0..<count { g[j] *= factor } }
        }
        if finite {
            let reduced = reducer.shards == nil ? gradients.baseAddress! : reducer.shardGradients.baseAddress!
            optimizer.step(parameters: store.values.pointer, gradients: reduced, lr: learningRate) { trainable[$0] }
            if let shards = reducer.shards {
                let own = shards.ranges[communicator.rank]
                try communicator.allGatherV(UnsafeBufferPointer(rebasing: store.flatValues[own]), into: store.flatValues,
                                            counts: shards.counts)
            }
            task.didStep()
        }
        return StepOutcome(loss: loss, gradientNorm: norm, applied: finite, communicationWait: wait, learningRate: learningRate,
                           skippedSamples: Int(lossSum[1]))
    }

    private func index(of parameter: Parameter) -> Int { parameterIndex[ObjectIdentifier(parameter)]! }

    /// Calls `body` with each of `parameters`' averaged gradients that this rank holds after the reduction: the whole
    /// parameter in the flat buffer, or its piece inside this rank's shard.
    private func forEachReducedGradient(of parameters: [Int], _ body: (UnsafeMutablePointer<Float>, Int) -> Void) {
        let store = task.parameters
        guard let shards = reducer.shards else {
            for i in parameters { body(gradients.baseAddress! + store.parameters[i].offset, store.parameters[i].count) }
            return
        }
        let own = shards.ranges[communicator.rank]
        for i in parameters {
            let p = store.parameters[i]
            let piece = shards.piece(of: p.offset..<(p.offset + p.count), ownedBy: communicator.rank)
            if !piece.isEmpty { body(reducer.shardGradients.baseAddress! + (piece.lowerBound - own.lowerBound), piece.count) }
        }
    }

    /// Bytes of AdamW moments this rank holds: the whole model's, or its shard's under ZeRO-1.
    public var optimizerStateBytes: Int { 2 * optimizer.shard.count * MemoryLayout<Float>.stride }

    /// Whether AdamW's state is sharded over the ranks (ZeRO-1 on more than one rank).
    public var isOptimizerSharded: Bool { reducer.shards != nil }

    /// The full AdamW moments, laid out like the parameters, on rank 0 (nil on the others, which must call this too):
    /// for checkpoints, which always hold the full state.
    public func gatherOptimizerMoments() throws -> (first: [Float], second: [Float])? {
        let isRoot = communicator.rank == 0
        guard let shards = reducer.shards else { return isRoot ? (optimizer.firstMoment, optimizer.secondMoment) : nil }
        var first = [Float](repeating: 0, count: isRoot ? task.parameters.count : 0), second = first
        try optimizer.withMoments { m, v in
            try first.withUnsafeMutableBufferPointer { try shards.gatherToRoot(m, into: isRoot ? $0 : nil, communicator: communicator) }
            try second.withUnsafeMutableBufferPointer { try shards.gatherToRoot(v, into: isRoot ? $0 : nil, communicator: communicator) }
        }
        return isRoot ? (first, second) : nil
    }

    /// Installs rank 0's full AdamW moments (`moments` is read on rank 0 only) on every rank: all of them, or each
    /// rank's shard; so any checkpoint resumes with or without ZeRO-1 and on any world size.
    public func restoreOptimizerMoments(_ moments: (first: [Float], second: [Float])?) throws {
        let isRoot = communicator.rank == 0
        var first = isRoot ? moments?.first ?? [] : [], second = isRoot ? moments?.second ?? [] : []
        if isRoot && (first.count != task.parameters.count || second.count != task.parameters.count) {
            throw TrainingError("optimizer moments of \(first.count)/\(second.count) values for \(task.parameters.count) parameters")
        }
        try optimizer.withMoments { m, v in
            if let shards = reducer.shards {
                try first.withUnsafeMutableBufferPointer { try shards.scatterFromRoot(isRoot ? $0 : nil, into: m, communicator: communicator) }
                try second.withUnsafeMutableBufferPointer { try shards.scatterFromRoot(isRoot ? $0 : nil, into: v, communicator: communicator) }
            } else {
                if isRoot { _ = m.update(from: first); _ = v.update(from: second) }
                try communicator.broadcast(m, root: 0)
                try communicator.broadcast(v, root: 0)
            }
        }
    }
}
