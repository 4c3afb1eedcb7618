import CoCa
import Checkpoint
import Distributed
import Foundation
import NN
import Optim
import TensorCore
import TrainingKit

/// Compares SwiftCLIP's CoCa with OpenCLIP's own outputs in a CoCa fixture folder (the layout of `fixtures/coca-tiny`:
/// a `config.json` with a `multimodal_cfg`, weights, batch, expected values, the AdamW step and `distN`), at the
/// fixture README's tolerances, as `Parity` does for CLIP.
public struct CoCaParity {
    public let directory: String
    let expected: [String: StoredTensor]
    let config: CoCaConfig
    /// `CoCaLoss`'s weights as the fixture recorded them.
    let captionWeight: Float, contrastiveWeight: Float

    /// Whether `directory` holds a CoCa fixture (its model config has a `multimodal_cfg`).
    public static func isCoCaFixture(_ directory: String) -> Bool { CoCaConfig.isCoCa(directory + "/config.json") }

    public init(fixture directory: String) throws {
        self.directory = directory
        let path = directory + "/config.json"
        config = try CoCaConfig.load(path)
        expected = try Safetensors.read(directory + "/expected.safetensors").tensors
        let document = try JSONDecoder().decode(JSONValue.self, from: try Data(contentsOf: URL(fileURLWithPath: path)))
        func weight(_ key: String, _ fallback: Float) -> Float {
            switch document["loss"]?[key] {
            case let .double(d)?: return Float(d)
            case let .integer(i)?: return Float(i)
            default: return fallback
            }
        }
        captionWeight = weight("caption_loss_weight", 2)
        contrastiveWeight = weight("clip_loss_weight", 1)
    }

    /// A model with the fixture's weights.
    public func makeModel() throws -> CoCaModel {
        let model = CoCaModel(config: config)
        try model.parameters.load(safetensors: directory + "/weights.safetensors")
        return model
    }

    func expectedValues(_ key: String) throws -> [Float] { try Parity.values(expected, key, in: directory + "/expected.safetensors") }

    func compare(_ quantity: String, _ ours: [Float], absolute: Float = 1e-4, relative: Float = 0) throws -> ParityResult {
        Parity.compare(quantity, ours, try expectedValues(quantity), absolute: absolute, relative: relative)
    }

    /// A gradient at the README's tolerance: 1e-3 · max |expected| + 1e-6.
    func compareGradient(_ quantity: String, _ ours: [Float]) throws -> ParityResult {
        try compare(quantity, ours, absolute: 1e-6, relative: 1e-3)
    }

    /// Runs every single-process comparison.
    public func run() throws -> [ParityResult] {
        let model = try makeModel()
        let (images, tokens) = try Parity.batch(fixture: directory)

        model.parameters.track()
        // The training forward (the MLPs skip the padding after each caption); token embeddings and logits of every
        // position come from the full one.
        let outputs = model.forward(images: images, tokens: tokens, forCaptionLoss: true)
        let full = withoutGradients { model.forward(images: images, tokens: tokens) }
        let image = outputs.imageLatent.l2Normalized(), text = outputs.textLatent.l2Normalized()
        let clipLoss = ContrastiveLoss.clip(localImage: image, localText: text, gatheredImage: image, gatheredText: text,
                                            logitScale: model.logitScale.tensor, rank: 0)
        guard let caption = model.captionLoss(outputs, tokens: tokens) else { throw WeightsError(directory, "the batch has no caption targets") }
        let total = clipLoss.scaled(by: contrastiveWeight) + caption.loss.scaled(by: captionWeight)
        let gradients = total.backward()
        let parameterGradients = model.parameters.parameters.map { gradients[$0.leaf!] ?? .zeros($0.shape) }
        model.parameters.untrack()

        var results = [
            try compare("image_features_unnormalized", outputs.imageLatent.values),
            try compare("text_features_unnormalized", outputs.textLatent.values),
            try compare("image_features", image.values),
            try compare("text_features", text.values),
            try compare("image_embs", outputs.imageTokens.values),
            try compare("token_embs", full.textTokens.values),
            try compare("logits", withoutGradients { model.decoder.logits(full.decoderFeatures) }.values, relative: 1e-4),
            try compare("labels", model.captionLabels(tokens).map { Float($0) }, absolute: 0),
            try compare("logit_scale", [Foundation.exp(model.logitScale.value.scalar)], absolute: 0, relative: 1e-6),
            try compare("logits_per_image", withoutGradients {
                Tensor.matmul(image, text, transposeB: true).scaled(by: Foundation.exp(model.logitScale.value.scalar))
            }.values, relative: 1e-4),
            try compare("clip_loss", [clipLoss.scalar]),
            try compare("caption_loss", [caption.loss.scalar]),
            try compare("caption_num_tokens", [Float(caption.targets)], absolute: 0),
            try compare("total_loss", [total.scalar]),
            try textMask(tokens),
        ]
        for (p, g) in zip(model.parameters.parameters, parameterGradients) { results.append(try compareGradient("grad." + p.name, g.values)) }
        // The key part of every in_proj_bias has a zero gradient in exact arithmetic (see the fixture README).
        for p in model.parameters.parameters where p.name.hasSuffix("in_proj_bias") {
            let width = p.count / 3, ours = Array(parameterGradients[model.parameters.parameters.firstIndex { $0 === p }!].values[width..<(2 * width)])
            results.append(Parity.compare("key-bias grad ≈ 0 \(p.name)", ours, [Float](repeating: 0, count: width), absolute: 1e-6))
        }
        results += try featureGradients(model: model, outputs: full, image: image, text: text, tokens: tokens)
        results += try Parity.adamW(fixture: directory, store: model.parameters, expected: expected, ownGradients: parameterGradients)
        return results
    }

    /// The text tower's attention mask, rebuilt from our key counts (causal, and keys at or past each row's count
    /// blocked), against OpenCLIP's additive mask: the same blocked entries.
    func textMask(_ tokens: [Int32]) throws -> ParityResult {
        let length = config.text.contextLength, positions = length + 1
        let counts = TextTransformerEncoder.legacyPaddingKeyCounts(tokens, length: length, padId: Int32(config.text.padId))
        let reference = try expectedValues("text_attn_mask")
        var mismatches = 0
        for (b, count) in counts.enumerated() {
            for i in 0..<positions {
                for k in 0..<positions where (k <= i && k < count) != reference[(b * positions + i) * positions + k].isFinite {
                    mismatches += 1
                }
            }
        }
        let quantity = "text_attn_mask (blocked entries that differ)"
        return ParityResult(quantity: quantity, maxAbsoluteError: Float(mismatches), maxRelativeError: Float(mismatches), tolerance: 0)
    }

    /// d total_loss / d the normalised latents and the decoder's inputs.
    func featureGradients(model: CoCaModel, outputs: CoCaModel.Outputs, image normalizedImage: Tensor, text normalizedText: Tensor,
                          tokens: [Int32]) throws -> [ParityResult] {
        let image = normalizedImage.copy().tracked(), text = normalizedText.copy().tracked()
        let clip = ContrastiveLoss.clip(localImage: image, localText: text, gatheredImage: image, gatheredText: text,
                                        logitScale: model.logitScale.value, rank: 0).scaled(by: contrastiveWeight)
        let latentGradients = clip.backward()
        let imageTokens = outputs.imageTokens.copy().tracked(), textTokens = outputs.textTokens.copy().tracked()
        let features = model.decoder.features(textTokens, imageTokens: imageTokens, prefixLengths: model.captionPrefixLengths(tokens))
        let f = features.reshaped([features.shape[0] * features.shape[1], features.shape[2]])
        let caption = chunkedCrossEntropy(features: f, projection: model.decoder.projection, labels: model.captionLabels(tokens),
                                          ignoredLabel: Int32(config.text.padId))!.loss.scaled(by: captionWeight)
        let decoderGradients = caption.backward()
        return [try compareGradient("feature_grad.image_features", latentGradients[image]!.values),
                try compareGradient("feature_grad.text_features", latentGradients[text]!.values),
                try compareGradient("feature_grad.image_embs", decoderGradients[imageTokens]!.values),
                try compareGradient("feature_grad.token_embs", decoderGradients[textTokens]!.values)]
    }
}

extension CoCaParity {
    /// The distributed check against `distN.safetensors` (N = world size): rank r takes its contiguous slice of the batch;
    /// per-rank losses and the gradients of one training step (gather, reduce-scatter, bucketed average) must match
    /// OpenCLIP's N-process run, where each rank's caption loss is a token mean over its own rows.
    public func runDistributed(communicator: Communicator) throws -> [ParityResult] {
        let world = communicator.size, rank = communicator.rank
        guard let distributed = try Parity.distributedReference(fixture: directory, worldSize: world) else { return [] }
        let (path, reference) = distributed
        let model = try makeModel()
        let share = try Parity.rankShare(fixture: directory, contextLength: config.text.contextLength, communicator: communicator, file: path)
        let (clip, caption, targets): (Float, Float, Int) = try withoutGradients {
            let tokens = share.rows("text"), outputs = model.forward(images: share.tensor("image"), tokens: tokens, forCaptionLoss: true)
            let clip = try GlobalLoss.clip(image: outputs.imageLatent.l2Normalized(), text: outputs.textLatent.l2Normalized(),
                                           logitScale: model.logitScale, communicator: communicator).loss
            let caption = model.captionLoss(outputs, tokens: tokens)
            return (clip, caption?.loss.scalar ?? 0, caption?.targets ?? 0)
        }
        var perRank = [Double](repeating: 0, count: 4 * world)
        perRank[4 * rank] = Double(clip)
        perRank[4 * rank + 1] = Double(caption)
        perRank[4 * rank + 2] = Double(targets)
        perRank[4 * rank + 3] = Double(contrastiveWeight * clip + captionWeight * caption)
        try communicator.allReduce(&perRank, .sum)
        var results: [ParityResult] = []
        for r in 0..<world {
            for (offset, key) in ["clip_loss", "caption_loss", "caption_num_tokens", "loss"].enumerated() {
                let name = "\(key).rank\(r)"
                results.append(Parity.compare("dist\(world) \(name)", [Float(perRank[4 * r + offset])], try Parity.values(reference, name, in: path),
                                              absolute: key == "caption_num_tokens" ? 0 : 1e-4))
            }
        }

        var settings = Settings()
        settings.cocaCaptionLossWeight = Double(captionWeight)
        settings.cocaContrastiveLossWeight = Double(contrastiveWeight)
        return results + (try Parity.stepGradients(task: CoCaTask(model: model, settings: settings), batch: share, communicator: communicator,
                                                   reference: reference, file: path))
    }
}
