import Foundation
import Optim

/// One stage of a staged training schedule: which parameter groups train, at what learning rate, until when.
public struct Stage: Codable, Equatable, Sendable {
    public var name: String
    /// OpenCLIP key prefixes of the parameters that train (`visual.`, `transformer.`, `token_embedding`,
    /// `text_projection`, `visual.proj`, `logit_scale`, ...); empty means every parameter.
    public var train: [String] = []
    /// Prefixes to hold frozen even if `train` matches them (e.g. train `visual.` but freeze `visual.conv1`).
    public var freeze: [String] = []
    /// Learning rate for this stage; nil keeps the run's `--lr`.
    public var lr: Double?
    /// Warmup steps at the start of the stage; nil keeps the run's `--warmup` for the first stage and 0 after.
    public var warmup: Int?
    /// nil keeps the run's `--lr-scheduler`.
    public var schedule: LearningRateSchedule.Kind?
    /// End condition: a number of optimizer steps in this stage ...
    public var steps: Int?
    /// ... or of samples ...
    public var samples: Int?
    /// ... or a plateau of a validation metric (e.g. `clip_val_loss`, `zeroshot-val-top1`) that has not
    /// improved by `minDelta` for `patience` evaluations. A stage without an end condition runs to the end.
    public var plateau: Plateau?
    /// Settings this stage gives other values (flag name → value text), e.g. `force-patch-dropout: 0` for FLIP's final
    /// unmasked phase; only settings declared `perStage` (checked by `SettingRegistry.settings(_:in:)`).
    public var settings: [String: String] = [:]

    public struct Plateau: Codable, Equatable, Sendable {
        public var metric: String
        public var patience: Int
        public var minDelta: Double = 0
        /// Whether larger is better (accuracy, recall); inferred from the metric name when omitted.
        public var maximize: Bool?

        public var isMaximized: Bool { maximize ?? !(metric.contains("loss") || metric.contains("rank")) }

        enum CodingKeys: String, CodingKey { case metric, patience, minDelta = "min-delta", maximize }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            metric = try c.decode(String.self, forKey: .metric)
            patience = try c.decode(Int.self, forKey: .patience)
            minDelta = try c.decodeIfPresent(Double.self, forKey: .minDelta) ?? 0
            maximize = try c.decodeIfPresent(Bool.self, forKey: .maximize)
        }
    }

    enum CodingKeys: String, CodingKey { case name, train, freeze, lr, warmup, schedule, steps, samples, plateau, settings }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
        train = try Self.prefixes(c, .train)
        freeze = try Self.prefixes(c, .freeze)
        lr = try c.decodeIfPresent(Double.self, forKey: .lr)
        warmup = try c.decodeIfPresent(Int.self, forKey: .warmup)
        schedule = try c.decodeIfPresent(LearningRateSchedule.Kind.self, forKey: .schedule)
        steps = try c.decodeIfPresent(Int.self, forKey: .steps)
        samples = try c.decodeIfPresent(Int.self, forKey: .samples)
        plateau = try c.decodeIfPresent(Plateau.self, forKey: .plateau)
        settings = try c.decodeIfPresent([String: ValueText].self, forKey: .settings)?.mapValues(\.text) ?? [:]
    }

    /// A stage setting's value as a recipe writes it (a switch, a number or text), kept as the text its flag takes.
    private struct ValueText: Decodable {
        let text: String

        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let flag = try? c.decode(Bool.self) { text = String(flag) }
            else if let integer = try? c.decode(Int.self) { text = String(integer) }
            else if let number = try? c.decode(Double.self) { text = String(number) }
            else { text = try c.decode(String.self) }
        }
    }

    /// A prefix list, or one prefix given as a string.
    private static func prefixes(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> [String] {
        if let one = try? c.decodeIfPresent(String.self, forKey: key) { return [one] }
        return try c.decodeIfPresent([String].self, forKey: key) ?? []
    }

    public init(name: String, train: [String] = [], freeze: [String] = [], lr: Double? = nil, steps: Int? = nil,
                settings: [String: String] = [:]) {
        self.name = name; self.train = train; self.freeze = freeze; self.lr = lr; self.steps = steps; self.settings = settings
    }

    /// Whether the parameter called `name` trains in this stage.
    public func trains(_ name: String) -> Bool {
        (train.isEmpty || train.contains { name.hasPrefix($0) }) && !freeze.contains { name.hasPrefix($0) }
    }
}

/// The stage and where it started; saved in checkpoints and logs.
public struct StageState: Codable, Equatable, Sendable {
    public var index: Int
    public var startStep: Int
    public var startSamples: Int
    /// Best value of the plateau metric in this stage and evaluations since it improved.
    public var best: Double?
    public var evaluationsWithoutImprovement: Int = 0

    public init(index: Int, startStep: Int, startSamples: Int) {
        self.index = index; self.startStep = startStep; self.startSamples = startSamples
    }
}

/// Decides on rank 0 when a stage ends; the trainer broadcasts the decision so every rank switches at the same step.
public struct StageController: Sendable {
    public let stages: [Stage]
    public private(set) var state: StageState

    public init(stages: [Stage], state: StageState = StageState(index: 0, startStep: 0, startSamples: 0)) {
        self.stages = stages.isEmpty ? [Stage(name: "all")] : stages
        self.state = state
    }

    public var current: Stage { stages[state.index] }
    public var isLastStage: Bool { state.index == stages.count - 1 }

    /// Records a validation result for the plateau condition.
    public mutating func observe(metrics: [String: Double]) {
        guard let plateau = current.plateau, let value = metrics[plateau.metric] else { return }
        let improved: Bool
        if let best = state.best {
            improved = plateau.isMaximized ? value > best + plateau.minDelta : value < best - plateau.minDelta
        } else {
            improved = true
        }
        if improved {
            state.best = value
            state.evaluationsWithoutImprovement = 0
        } else {
            state.evaluationsWithoutImprovement += 1
        }
    }

    /// Whether the current stage has met its end condition after `step` optimizer steps and `samples` samples.
    public func shouldAdvance(step: Int, samples: Int) -> Bool {
        guard !isLastStage else { return false }
        let stage = current
        if let steps = stage.steps, step - state.startStep >= steps { return true }
        if let limit = stage.samples, samples - state.startSamples >= limit { return true }
        if let plateau = stage.plateau, state.evaluationsWithoutImprovement >= plateau.patience { return true }
        return false
    }

    /// Moves to the next stage starting at `step`.
    public mutating func advance(step: Int, samples: Int) {
        state = StageState(index: min(state.index + 1, stages.count - 1), startStep: step, startSamples: samples)
    }

    /// Applies a decision broadcast by rank 0.
    public mutating func apply(_ decided: StageState) { state = decided }
}
