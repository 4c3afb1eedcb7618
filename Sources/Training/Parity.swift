import CLIP
import Distributed
import Foundation
import NN
import Optim
import TensorCore
import TrainingKit

/// One compared quantity of a parity run.
public struct ParityResult: Sendable {
    public let quantity: String
    public let maxAbsoluteError: Float
    /// Max absolute error divided by max |expected| of the quantity.
    public let maxRelativeError: Float
    public let tolerance: Float
    public var passed: Bool { maxAbsoluteError <= tolerance }
}

/// Compares SwiftCLIP with OpenCLIP's own outputs in a fixture folder (`config.json`, `weights.safetensors`,
/// `batch.safetensors`, `expected.safetensors`, optional `adamw_step.safetensors`), at the fixture README's
/// tolerances: features, logits and losses to 1e-4; gradients per tensor to 1e-3·max|expected| + 1e-6;
/// the optimizer alone to 1e-6; the optimizer after our own gradients to 1e-4 (1e-3 = lr inside the key
/// part of `in_proj_bias`, whose true gradient is zero and whose fixture value is rounding noise).
public struct Parity {
    public let directory: String
    let expected: [String: StoredTensor]
    let config: CLIPConfig

    public init(fixture directory: String) throws {
        self.directory = directory
        config = try CLIPConfig.load(directory + "/config.json")
        expected = try Safetensors.read(directory + "/expected.safetensors").tensors
    }

    /// A model with the fixture's weights.
    public func makeModel() throws -> CLIPModel {
        let model = CLIPModel(config: config)
        try model.parameters.load(safetensors: directory + "/weights.safetensors")
        return model
    }

    /// The fixture batch: images [B, 3, H, W] and token ids (B × context).
    public func batch() throws -> (images: Tensor, tokens: [Int32]) { try Self.batch(fixture: directory) }

    /// The batch of the fixture in `directory`.
    static func batch(fixture directory: String) throws -> (images: Tensor, tokens: [Int32]) {
        let path = directory + "/batch.safetensors"
        let stored = try Safetensors.read(path).tensors
        guard let images = stored["images"], let tokens = stored["tokens"] else { throw WeightsError(path, "needs `images` and `tokens`") }
        return (images.tensor, tokens.integers.map { Int32($0) })
    }

    func expectedValues(_ key: String) throws -> [Float] { try Self.values(expected, key, in: directory + "/expected.safetensors") }

    /// The values of `key` among `tensors` read from `file` (integer tensors, such as token counts, as floats).
    static func values(_ tensors: [String: StoredTensor], _ key: String, in file: String) throws -> [Float] {
        guard let t = tensors[key] else { throw WeightsError(file, "missing key \(key)") }
        return t.floats.isEmpty ? t.integers.map { Float($0) } : t.floats
    }

    static func compare(_ quantity: String, _ ours: [Float], _ reference: [Float], absolute: Float, relative: Float = 0) -> ParityResult {
        precondition(ours.count == reference.count, "parity: \(quantity) has \(ours.count) values, the reference \(reference.count)")
        var maxError: Float = 0, maxReference: Float = 0
        for (a, b) in zip(ours, reference) {
            maxError = max(maxError, abs(a - b))
            maxReference = max(maxReference, abs(b))
        }
        return ParityResult(quantity: quantity, maxAbsoluteError: maxError, maxRelativeError: maxError / max(maxReference, 1e-30),
                            tolerance: absolute + relative * maxReference)
    }

    /// Runs every single-process comparison.
    public func run() throws -> [ParityResult] {
        var results: [ParityResult] = []
        let model = try makeModel()
        let (images, tokens) = try batch()

        // Forward and backward of the CLIP loss with gradients for every parameter.
        model.parameters.track()
        let imageRaw = model.encodeImage(images, normalize: false), textRaw = model.encodeText(tokens, normalize: false)
        let image = imageRaw.l2Normalized(), text = textRaw.l2Normalized()
        let loss = ContrastiveLoss.clip(localImage: image, localText: text, gatheredImage: image, gatheredText: text,
                                        logitScale: model.logitScale.tensor, rank: 0)
        let gradients = loss.backward()
        let parameterGradients = model.parameters.parameters.map { gradients[$0.leaf!] ?? .zeros($0.shape) }
        model.parameters.untrack()

        results.append(Self.compare("image_features_unnormalized", imageRaw.values, try expectedValues("image_features_unnormalized"), absolute: 1e-4))
        results.append(Self.compare("text_features_unnormalized", textRaw.values, try expectedValues("text_features_unnormalized"), absolute: 1e-4))
        results.append(Self.compare("image_features", image.values, try expectedValues("image_features"), absolute: 1e-4))
        results.append(Self.compare("text_features", text.values, try expectedValues("text_features"), absolute: 1e-4))
        let scale = Foundation.exp(model.logitScale.value.scalar)
        results.append(Self.compare("logit_scale", [scale], try expectedValues("logit_scale"), absolute: 0, relative: 1e-6))
        let logits = withoutGradients { Tensor.matmul(image, text, transposeB: true).scaled(by: scale) }
        results.append(Self.compare("logits_per_image", logits.values, try expectedValues("logits_per_image"), absolute: 1e-4, relative: 1e-4))
        results.append(Self.compare("clip_loss", [loss.scalar], try expectedValues("clip_loss"), absolute: 1e-4))
        for (p, g) in zip(model.parameters.parameters, parameterGradients) {
            let reference = try expectedValues("grad." + p.name)
            results.append(Self.compare("grad." + p.name, g.values, reference, absolute: 1e-6, relative: 1e-3))
        }

        results += try featureGradients(image: image, text: text, logScale: model.logitScale.value)
        results += try sigLIP(image: image, text: text, logScale: model.logitScale.value)
        results += try Self.adamW(fixture: directory, store: model.parameters, expected: expected, ownGradients: parameterGradients)
        return results
    }

    /// d clip_loss / d normalised features.
    func featureGradients(image: Tensor, text: Tensor, logScale: Tensor) throws -> [ParityResult] {
        let i = image.copy().tracked(), t = text.copy().tracked()
        let loss = ContrastiveLoss.clip(localImage: i, localText: t, gatheredImage: i, gatheredText: t, logitScale: logScale, rank: 0)
        let g = loss.backward()
        return [Self.compare("feature_grad.image_features", g[i]!.values, try expectedValues("feature_grad.image_features"), absolute: 1e-6, relative: 1e-3),
                Self.compare("feature_grad.text_features", g[t]!.values, try expectedValues("feature_grad.text_features"), absolute: 1e-6, relative: 1e-3)]
    }

    /// SigLIP loss and gradients on the same features with bias −10 (and the scale-10 variant).
    func sigLIP(image: Tensor, text: Tensor, logScale: Tensor) throws -> [ParityResult] {
        guard expected["siglip_loss"] != nil else { return [] }
        let i = image.copy().tracked(), t = text.copy().tracked()
        let s = logScale.copy().tracked(), b = Tensor(scalar: try expectedValues("siglip_logit_bias")[0]).tracked()
        let loss = ContrastiveLoss.sigLIP(localImage: i, gatheredText: t, logitScale: s, logitBias: b, rank: 0)
        let g = loss.backward()
        var results = [
            Self.compare("siglip_loss", [loss.scalar], try expectedValues("siglip_loss"), absolute: 1e-4),
            Self.compare("siglip_grad.image_features", g[i]!.values, try expectedValues("siglip_grad.image_features"), absolute: 1e-6, relative: 1e-3),
            Self.compare("siglip_grad.text_features", g[t]!.values, try expectedValues("siglip_grad.text_features"), absolute: 1e-6, relative: 1e-3),
            Self.compare("siglip_grad.logit_scale", g[s]!.values, try expectedValues("siglip_grad.logit_scale"), absolute: 1e-6, relative: 1e-3),
            Self.compare("siglip_grad.logit_bias", g[b]!.values, try expectedValues("siglip_grad.logit_bias"), absolute: 1e-6, relative: 1e-3),
        ]
        if expected["siglip_loss_scale10"] != nil {
            let loss10 = withoutGradients {
                ContrastiveLoss.sigLIP(localImage: image, gatheredText: text, logitScale: Tensor(scalar: Float(Foundation.log(10.0))),
                                       logitBias: Tensor(scalar: -10), rank: 0)
            }
            results.append(Self.compare("siglip_loss_scale10", [loss10.scalar], try expectedValues("siglip_loss_scale10"), absolute: 1e-4))
        }
        return results
    }

    /// One AdamW step (lr 1e-3, betas 0.9/0.98, eps 1e-6, wd 0.2, OpenCLIP's decay groups), from the
    /// fixture's gradients (the optimizer alone) and from ours.
    static func adamW(fixture directory: String, store: ParameterStore, expected: [String: StoredTensor],
                      ownGradients: [Tensor]) throws -> [ParityResult] {
        let path = directory + "/adamw_step.safetensors"
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let after = try Safetensors.read(path).tensors
        func expectedValues(_ key: String) throws -> [Float] { try values(expected, key, in: directory + "/expected.safetensors") }
        let segments = store.parameters.map {
            AdamW.Segment(name: $0.name, offset: $0.offset, count: $0.count, decay: AdamW.decays(name: $0.name, shape: $0.shape))
        }
        let initial = Array(store.flatValues)
        var results: [ParityResult] = []
        for (label, grads) in [("adamw(fixture grads)", try store.parameters.map { try expectedValues("grad." + $0.name) }),
                               ("adamw(own grads)", ownGradients.map(\.values))] {
            var flatGradients = [Float](repeating: 0, count: store.count)
            for (p, g) in zip(store.parameters, grads) { flatGradients.replaceSubrange(p.offset..<(p.offset + p.count), with: g) }
            var params = initial
            AdamW(segments: segments).step(parameters: &params, gradients: flatGradients, lr: 1e-3)
            for p in store.parameters {
                guard let reference = after[p.name]?.floats else { throw WeightsError(path, "missing key \(p.name)") }
                let ours = Array(params[p.offset..<(p.offset + p.count)])
                let quantity = "\(label) \(p.name)"
                if label.contains("own") && p.name.hasSuffix("in_proj_bias") {
                    // Key part [w, 2w): compare with atol = lr (see the type's documentation).
                    let w = p.count / 3
                    results.append(Self.compare(quantity + "[q,v]", Array(ours[..<w] + ours[(2 * w)...]),
                                                Array(reference[..<w] + reference[(2 * w)...]), absolute: 1e-4))
                    results.append(Self.compare(quantity + "[k]", Array(ours[w..<(2 * w)]), Array(reference[w..<(2 * w)]), absolute: 1e-3))
                } else {
                    results.append(Self.compare(quantity, ours, reference, absolute: label.contains("own") ? 1e-4 : 1e-6))
                }
            }
        }
        return results
    }
}

extension Parity {
    /// The distributed check against `distN.safetensors` (N = world size): rank r takes its contiguous slice of the
    /// batch; per-rank losses and the all-reduced (averaged) gradients must match OpenCLIP's 2-process run.
    public func runDistributed(communicator: Communicator) throws -> [ParityResult] {
        let world = communicator.size, rank = communicator.rank
        guard let distributed = try Self.distributedReference(fixture: directory, worldSize: world) else { return [] }
        let (path, reference) = distributed
        let model = try makeModel()
        let share = try Self.rankShare(fixture: directory, contextLength: config.text.contextLength, communicator: communicator, file: path)

        // Per-rank loss: local rows against the gathered columns.
        let localLoss: Float = try withoutGradients {
            try GlobalLoss.clip(image: model.encodeImage(share.tensor("image")), text: model.encodeText(share.rows("text")),
                                logitScale: model.logitScale, communicator: communicator).loss
        }
        var losses = [Double](repeating: 0, count: world)
        losses[rank] = Double(localLoss)
        try communicator.allReduce(&losses, .sum)
        var results: [ParityResult] = []
        for r in 0..<world {
            results.append(Self.compare("dist\(world) loss.rank\(r)", [Float(losses[r])], try Self.values(reference, "loss.rank\(r)", in: path),
                                        absolute: 1e-4))
        }
        return results + (try Self.stepGradients(task: CLIPTask(model: model, settings: Settings()), batch: share, communicator: communicator,
                                                 reference: reference, file: path))
    }

    /// The fixture's `distN.safetensors` for N ranks and its path, or nil when it has none.
    static func distributedReference(fixture directory: String, worldSize: Int) throws -> (path: String, tensors: [String: StoredTensor])? {
        let path = directory + "/dist\(worldSize).safetensors"
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return (path, try Safetensors.read(path).tensors)
    }

    /// Rank r's contiguous share of the fixture batch (token rows of `contextLength`), as a training step takes it.
    static func rankShare(fixture directory: String, contextLength: Int, communicator: Communicator, file path: String) throws -> TaskBatch {
        let (images, tokens) = try batch(fixture: directory)
        let world = communicator.size, rank = communicator.rank, total = images.shape[0], local = total / world
        guard total % world == 0 else { throw WeightsError(path, "batch of \(total) does not split over \(world) ranks") }
        return TaskBatch(count: local, tensors: ["image": images.slice(axis: 0, (rank * local)..<((rank + 1) * local))],
                         integers: ["text": Array(tokens[(rank * local * contextLength)..<((rank + 1) * local * contextLength)])])
    }

    /// The gradients of one training step of `task` on this rank's `batch`, through the step engine's own machinery
    /// (all-gather, reduce-scatter, bucketed average over ranks), against the reference's `grad.<name>`.
    static func stepGradients(task: TrainingTask, batch: TaskBatch, communicator: Communicator, reference: [String: StoredTensor],
                              file path: String) throws -> [ParityResult] {
        let engine = try StepEngine(task: task, communicator: communicator, hyperparameters: AdamW.Hyperparameters())
        let store = task.parameters
        _ = try engine.step(batch, trainable: [Bool](repeating: true, count: store.parameters.count), learningRate: 0)
        return try store.parameters.map { p in
            let ours = Array(engine.gradients[p.offset..<(p.offset + p.count)])
            return compare("dist\(communicator.size) grad.\(p.name)", ours, try values(reference, "grad." + p.name, in: path),
                           absolute: 1e-6, relative: 1e-3)
        }
    }
}
