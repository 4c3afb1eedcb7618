import TrainingKit

/// Where `--init-image` and `--init-text` put a CoCa's towers: which source tensor each of its parameters starts from.
///
/// Image tower (`visual.`): the ViT trunk (patch and class embeddings, positions, `ln_pre`, the blocks) loads from the
/// source's `visual.` keys, which CLIP, CoCa and OpenCLIP safetensors share. The pooling head (`attn_pool`, `ln_post`,
/// `proj`) loads too when the source has an attentional pooler (a CoCa); from a CLIP it stays freshly initialised,
/// because CLIP's `ln_post` and `proj` normalise and project its class token, with other shapes and another meaning.
///
/// Text tower (`text.`): every parameter loads from the source's text tower, at the root of a CLIP (`OpenCLIPTowerKeys`)
/// or under `text.` of a CoCa, except CoCa's appended `cls_emb`, which stays fresh from a CLIP (it has none). The
/// positional embedding (context length + 1 rows here, one for the cls token) must have the source's shape, as OpenCLIP's
/// coca_ViT-B-32 (76 + 1) and ViT-B-32 (77) have.
///
/// Everything a rule maps is loaded strictly: a missing or mis-shaped tensor is an error naming the key.
enum CoCaTowerInitialisation {
    /// The pooling head of CoCa's image tower.
    static let imageHead = ["visual.attn_pool.", "visual.ln_post.", "visual.proj"]

    static func imageSource(_ name: String, in weights: PretrainedWeights) -> String? {
        guard name.hasPrefix("visual.") else { return nil }
        let sourceHasPooler = weights.tensors.keys.contains { $0.hasPrefix("visual.attn_pool.") }
        return !sourceHasPooler && imageHead.contains(where: name.hasPrefix) ? nil : name
    }

    static func textSource(_ name: String, in weights: PretrainedWeights) -> String? {
        guard name.hasPrefix("text.") else { return nil }
        let relative = String(name.dropFirst("text.".count))
        let source = OpenCLIPTowerKeys.textSource(relative, in: weights)
        return relative == "cls_emb" && weights.tensors[source] == nil ? nil : source
    }

    /// Applies the run's `--init-image` and `--init-text` to a fresh model.
    static func apply(_ settings: Settings, to model: CoCaModel) throws {
        if !settings.initImage.isEmpty {
            let weights = try PretrainedWeights(settings.initImage)
            try weights.load(into: model.parameters) { imageSource($0, in: weights) }
        }
        if !settings.initText.isEmpty {
            let weights = try PretrainedWeights(settings.initText)
            try weights.load(into: model.parameters) { textSource($0, in: weights) }
        }
    }
}
