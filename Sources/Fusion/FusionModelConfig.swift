import TrainingKit

/// Everything that fixes a fusion model's parameters: what checkpoints record and `makeTask(modelConfig:)` reads back.
public struct FusionModelConfig: Codable, Equatable, Sendable {
    public var fusion: String
    public var modalities: [String]
    public var classes: Int
    public var lateLearnedWeights: Bool
    /// Width of the gated unit's hidden h_m.
    public var gatedWidth: Int
    /// Early fusion's joint transformer.
    public var earlyWidth: Int
    public var earlyLayers: Int
    public var earlyHeads: Int
    public var towers: FusionTowerConfigs
    /// Whether the model has a unimodal classifier per encoder (`unimodal.<modality>.*`, for `--fusion-objective
    /// unimodal`); absent in configs recorded before they existed.
    public var unimodalHeads: Bool?

    public init(fusion: FusionKind, modalities: [FusionModality], classes: Int, lateLearnedWeights: Bool = false, gatedWidth: Int = 0,
                earlyWidth: Int = 0, earlyLayers: Int = 1, earlyHeads: Int = 1, towers: FusionTowerConfigs, unimodalHeads: Bool = false) {
        self.fusion = fusion.rawValue
        self.modalities = modalities.map(\.rawValue)
        self.classes = classes
        self.lateLearnedWeights = lateLearnedWeights
        self.gatedWidth = gatedWidth
        self.earlyWidth = earlyWidth
        self.earlyLayers = earlyLayers
        self.earlyHeads = earlyHeads
        self.towers = towers
        self.unimodalHeads = unimodalHeads ? true : nil
    }

    /// The run's config from its settings (`--fusion`, `--modalities`, `--num-classes`, the encoders' JSON).
    public static func from(settings: Settings) throws -> FusionModelConfig {
        let modalities = try FusionModality.list(settings.modalities)
        if settings.fusion == .gated && modalities.count < 2 {
            throw TrainingError("--fusion gated needs at least two --modalities (got \(settings.modalities)); use late for one")
        }
        if settings.fusion == .earlyCrossAttention && modalities.count != 2 {
            throw TrainingError("--fusion early-xattn needs exactly two --modalities, the first attending to the second (got \(settings.modalities))")
        }
        let towers = try FusionTowerConfigs.load(settings: settings, modalities: modalities)
        let widest = max(towers.visionOutputDim, towers.textOutputDim, towers.audioOutputDim ?? 0)
        let earlyWidth = settings.earlyWidth > 0 ? settings.earlyWidth
            : max(towers.vision?.width ?? 0, towers.text?.width ?? 0, towers.audio?.width ?? 0)
        if (settings.fusion == .early || settings.fusion == .earlyCrossAttention) && earlyWidth % settings.earlyHeads != 0 {
            throw TrainingError("--early-heads \(settings.earlyHeads) does not divide the joint width \(earlyWidth) (--early-width)")
        }
        return FusionModelConfig(fusion: settings.fusion, modalities: modalities, classes: settings.numClasses,
                                 lateLearnedWeights: settings.lateWeights == .learned,
                                 gatedWidth: settings.gatedWidth > 0 ? settings.gatedWidth : widest,
                                 earlyWidth: earlyWidth, earlyLayers: settings.earlyLayers, earlyHeads: settings.earlyHeads, towers: towers,
                                 unimodalHeads: try usesUnimodalObjective(settings))
    }

    /// Whether the run or any of its stages trains with `--fusion-objective unimodal`.
    static func usesUnimodalObjective(_ settings: Settings) throws -> Bool {
        let name = FusionSettings.declared.fusionObjective.name
        let staged = try settings.stages.stages.compactMap { stage -> FusionObjective? in
            guard let text = stage.settings[name] else { return nil }
            guard let objective = FusionObjective.parse(text) else {
                throw TrainingError("stage \(stage.name): --\(name) '\(text)' is not one of \(FusionObjective.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return objective
        }
        return ([settings.fusionObjective] + staged).contains(.unimodal)
    }

    public var kind: FusionKind { FusionKind(rawValue: fusion) ?? .late }
    public var modalityList: [FusionModality] { modalities.compactMap(FusionModality.init(rawValue:)) }
    public var hasUnimodalHeads: Bool { unimodalHeads ?? false }
}
