import CLIP
import Foundation
import NN
import Optim
import TensorCore

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

/// One data-parallel optimizer step: forward, the global contrastive loss over all-gathered features,
/// backward with bucketed all-reduce, clipping, AdamW and the `logit_scale` clamp.
///
/// With `accumulation` k > 1 it follows GradCache: a no-grad pass embeds the k micro-batches, the loss
/// and the gradient for every embedding are computed once over the global batch, then each micro-batch
/// is re-run with the tape and back-propagates its slice of the cached gradients. Parameter gradients
/// equal the one-shot computation, and `logit_scale` gets its gradient once.
public final class StepEngine {
    public let model: CLIPModel
    let collectives: TrainerCollectives
    public let optimizer: AdamW
    let reducer: GradientReduction
    /// Parameter gradients, flat, laid out like the parameters.
    public private(set) var gradients: UnsafeMutableBufferPointer<Float>
    /// Position of each parameter in the store's list.
    let parameterIndex: [ObjectIdentifier: Int]

    public var siglip = false
    public var gradientClipNorm: Double?
    public var accumulation = 1
    public var tileElements = ContrastiveLoss.defaultTileElements

    public init(model: CLIPModel, collectives: TrainerCollectives, hyperparameters: AdamW.Hyperparameters,
                bucketBytes: Int = 8 << 20, deterministic: Bool = false) {
        self.model = model
        self.collectives = collectives
        let store = model.parameters
        optimizer = AdamW(segments: store.parameters.map {
            AdamW.Segment(name: $0.name, offset: $0.offset, count: $0.count, decay: AdamW.decays(name: $0.name, shape: $0.shape))
        }, hyperparameters: hyperparameters)
        reducer = collectives.makeGradientReducer(layout: store.parameters.map { ($0.offset, $0.count) },
                                                   bucketBytes: bucketBytes, deterministic: deterministic)
        gradients = .allocate(capacity: max(store.count, 1))
        gradients.initialize(repeating: 0)
        parameterIndex = Dictionary(uniqueKeysWithValues: store.parameters.enumerated().map { (ObjectIdentifier($0.element), $0.offset) })
    }

    deinit { gradients.deallocate() }

    /// Runs one step on this rank's batch; `trainable[i]` says whether parameter i trains.
    public func step(images: Tensor, tokens: [Int32], trainable: [Bool], learningRate: Float) throws -> StepOutcome {
        let store = model.parameters
        let active = trainable.indices.filter { trainable[$0] }
        for i in active {
            let p = store.parameters[i]
            (gradients.baseAddress! + p.offset).update(repeating: 0, count: p.count)
        }
        reducer.setActive(active)
        var reported = [Bool](repeating: false, count: store.parameters.count)
        let batch = images.shape[0]
        precondition(batch % accumulation == 0, "step: batch \(batch) is not divisible into \(accumulation) micro-batches")
        let micro = batch / accumulation
        let context = model.config.text.contextLength

        // Features of the whole local batch: on the tape when there is one micro-batch, otherwise cached.
        var imageFeatures: Tensor, textFeatures: Tensor
        if accumulation == 1 {
            store.track { trainable[self.index(of: $0)] }
            imageFeatures = model.encodeImage(images)
            textFeatures = model.encodeText(tokens)
        } else {
            store.untrack()
            (imageFeatures, textFeatures) = withoutGradients {
                var imageParts: [Tensor] = [], textParts: [Tensor] = []
                for m in 0..<accumulation {
                    imageParts.append(model.encodeImage(imagesOf(m, micro)))
                    textParts.append(model.encodeText(tokensOf(m, micro)))
                }
                return (Tensor.concatenate(imageParts, axis: 0), Tensor.concatenate(textParts, axis: 0))
            }
        }
        func imagesOf(_ m: Int, _ size: Int) -> Tensor { images.slice(axis: 0, (m * size)..<((m + 1) * size)) }
        func tokensOf(_ m: Int, _ size: Int) -> [Int32] { Array(tokens[(m * size * context)..<((m + 1) * size * context)]) }

        let (localLoss, dImage, dText, dScalars) = try globalLoss(image: imageFeatures, text: textFeatures)

        // Backward through the towers, seeded with the gradients of this rank's features.
        let isLastMicro: (Int) -> Bool = { $0 == self.accumulation - 1 }
        for m in 0..<accumulation {
            var seeds: [(variable: Int, gradient: Tensor)] = []
            var image = imageFeatures, text = textFeatures
            var dI = dImage, dT = dText
            if accumulation > 1 {
                store.track { trainable[self.index(of: $0)] }
                image = model.encodeImage(imagesOf(m, micro))
                text = model.encodeText(tokensOf(m, micro))
                dI = dImage.slice(axis: 0, (m * micro)..<((m + 1) * micro))
                dT = dText.slice(axis: 0, (m * micro)..<((m + 1) * micro))
            }
            if image.isTracked { seeds.append((image.variable, dI)) }
            if text.isTracked { seeds.append((text.variable, dT)) }
            // Gradients accumulate straight into the flat buffer (the token embedding's only in the rows read).
            var owners: [Int: Int] = [:], destinations: [Int: UnsafeMutablePointer<Float>] = [:]
            for (i, p) in store.parameters.enumerated() {
                guard let leaf = p.leaf else { continue }
                owners[leaf.variable] = i
                destinations[leaf.variable] = gradients.baseAddress! + p.offset
            }
            let last = isLastMicro(m)
            var failure: Error?
            if !seeds.isEmpty {
                _ = Tape.shared.backward(seeds: seeds, keepingLeafGradients: false, accumulatingInto: destinations) { variable, _ in
                    guard let i = owners[variable] else { return }
                    if last {
                        reported[i] = true
                        do { try self.reducer.gradientReady(parameter: i, gradients: self.gradients.baseAddress!) } catch { failure = failure ?? error }
                    }
                    self.reducer.poll()
                }
            } else {
                Tape.shared.reset()
            }
            store.untrack()
            if let failure { throw failure }
        }

        // Scalars of the loss (logit_scale, SigLIP's logit_bias) and parameters no path reached.
        let scalarGradients = [(model.logitScale, dScalars.scale), (model.logitBias, dScalars.bias)]
        for (parameter, value) in scalarGradients {
            guard let parameter, trainable[index(of: parameter)] else { continue }
            gradients[parameter.offset] = value
        }
        for i in active where !reported[i] {
            try reducer.gradientReady(parameter: i, gradients: gradients.baseAddress!)
        }
        let wait = try reducer.finish()

        // Global loss for logging: the mean of the per-rank losses.
        var lossSum = [Double(localLoss)]
        try collectives.allReduceSum(&lossSum)
        let loss = lossSum[0] / Double(collectives.size)

        var squares: Double = 0
        var finite = loss.isFinite
        for i in active {
            let p = store.parameters[i]
            squares += Double(Kernels.sumOfSquares(gradients.baseAddress! + p.offset, p.count))
        }
        let norm = squares.squareRoot()
        finite = finite && norm.isFinite
        if finite, let maxNorm = gradientClipNorm, norm > maxNorm {
            let factor = Float(maxNorm / (norm + 1e-6))
            for i in active {
                let p = store.parameters[i]
                let g = gradients.baseAddress! + p.offset
                for j in 0..<p.count { g[j] *= factor }
            }
        }
        if finite {
            let isActive = trainable
            optimizer.step(parameters: store.values.pointer, gradients: gradients.baseAddress!, lr: learningRate) { isActive[$0] }
            model.clampLogitScale()
        }
        return StepOutcome(loss: loss, gradientNorm: norm, applied: finite, communicationWait: wait, learningRate: learningRate)
    }

    private func index(of parameter: Parameter) -> Int { parameterIndex[ObjectIdentifier(parameter)]! }

    /// This rank's loss over the global batch and the gradients of its own features (every rank's
    /// contribution summed back to the owner), plus the scalar gradients.
    func globalLoss(image: Tensor, text: Tensor) throws -> (Float, Tensor, Tensor, (scale: Float, bias: Float)) {
        let rank = collectives.rank, world = collectives.size
        let d = image.shape[1], b = image.shape[0]
        let gatheredImage = world == 1 ? image : Tensor(shape: [world * b, d], values: try collectives.allGather(image.values))
        let gatheredText = world == 1 ? text : Tensor(shape: [world * b, d], values: try collectives.allGather(text.values))
        func ownRows(_ g: Tensor) throws -> Tensor {
            world == 1 ? g : Tensor(shape: [b, d], values: try collectives.reduceScatterSum(g.values))
        }
        if siglip {
            let evaluation = SigLIPLossEvaluation(localImage: image, gatheredText: gatheredText,
                                                  logitScale: model.logitScale.value.scalar,
                                                  logitBias: model.logitBias?.value.scalar ?? -10, rank: rank, tileElements: tileElements)
            let g = evaluation.gradients()
            return (evaluation.loss, g.localImage, try ownRows(g.gatheredText), (g.logitScale, g.logitBias))
        }
        let evaluation = ClipLossEvaluation(localImage: image, localText: text, gatheredImage: gatheredImage, gatheredText: gatheredText,
                                            logitScale: model.logitScale.value.scalar, rank: rank, tileElements: tileElements)
        let g = evaluation.gradients()
        let dImage = g.localImage + (try ownRows(g.gatheredImage))
        let dText = g.localText + (try ownRows(g.gatheredText))
        return (evaluation.loss, dImage, dText, (g.logitScale, 0))
    }
}
