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
}

/// One data-parallel optimizer step of any family: forward, the family's global loss over its gathered outputs plus its
/// local loss, backward with bucketed all-reduce, clipping, AdamW and the family's post-step hook.
///
/// With `accumulation` k > 1 it follows GradCache: a no-grad pass computes the global outputs of the k micro-batches,
/// the global loss and the gradient of every output are computed once over the whole batch, then each micro-batch is
/// re-run with the tape and back-propagates its slice of the cached gradients (and 1/k of its local loss). Parameter
/// gradients equal the one-shot computation, and parameters outside the tape get their gradient once.
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

    public init(task: TrainingTask, communicator: Communicator, hyperparameters: AdamW.Hyperparameters,
                bucketBytes: Int = 8 << 20, deterministic: Bool = false) throws {
        self.task = task
        self.communicator = communicator
        let store = task.parameters
        optimizer = AdamW(segments: store.parameters.map {
            AdamW.Segment(name: $0.name, offset: $0.offset, count: $0.count, decay: task.decays(name: $0.name, shape: $0.shape))
        }, hyperparameters: hyperparameters)
        reducer = try GradientBucketReducer(communicator: communicator, layout: store.parameters.map { ($0.offset, $0.count) },
                                            bucketBytes: bucketBytes, deterministic: deterministic)
        gradients = .allocate(capacity: max(store.count, 1))
        gradients.initialize(repeating: 0)
        parameterIndex = Dictionary(uniqueKeysWithValues: store.parameters.enumerated().map { (ObjectIdentifier($0.element), $0.offset) })
    }

    deinit { gradients.deallocate() }

    /// Runs one step on this rank's batch; `trainable[i]` says whether parameter i trains. Frozen parameters get no
    /// gradient computation (they are not tracked), no all-reduce and no optimizer update.
    public func step(_ batch: TaskBatch, trainable: [Bool], learningRate: Float) throws -> StepOutcome {
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

        // Global loss for logging: the mean of the per-rank losses.
        var lossSum = [Double(global?.loss ?? 0) + Double(localLossSum) / Double(accumulation)]
        try communicator.allReduce(&lossSum, .sum)
        let loss = lossSum[0] / Double(communicator.size)

        var squares: Double = 0
        for i in active {
            let p = store.parameters[i]
            squares += Double(Kernels.sumOfSquares(gradients.baseAddress! + p.offset, p.count))
        }
        let norm = squares.squareRoot()
        let finite = loss.isFinite && norm.isFinite
        if finite, let maxNorm = gradientClipNorm, norm > maxNorm {
            let factor = Float(maxNorm / (norm + 1e-6))
            for i in active {
                let p = store.parameters[i]
                let g = gradients.baseAddress! + p.offset
                for j in 0..<p.count { g[j] *= factor }
            }
        }
        if finite {
            optimizer.step(parameters: store.values.pointer, gradients: gradients.baseAddress!, lr: learningRate) { trainable[$0] }
            task.didStep()
        }
        return StepOutcome(loss: loss, gradientNorm: norm, applied: finite, communicationWait: wait, learningRate: learningRate)
    }

    private func index(of parameter: Parameter) -> Int { parameterIndex[ObjectIdentifier(parameter)]! }
}
