import Checkpoint
import Distributed
import Foundation
import NN
import Optim
import TensorCore

/// A model family as the engine sees it: a model with its losses, parameter groups, data and evaluation.
///
/// The engine (trainer, step engine, stage controller, checkpoints, logging) calls only this protocol. A family is a
/// module with a `ModelFamily` type and a `TrainingTask` for its models; it registers with one line in Training's
/// family list.
public protocol TrainingTask: AnyObject {
    /// The model's parameters in one allocation, under the family's public state-dict keys.
    var parameters: ParameterStore { get }
    /// The model's configuration as the checkpoint header records it (the family's `restore` reads it back).
    var modelConfig: JSONValue { get }
    /// How the start-of-run line names the model; nil: the `--model` setting (a family with one model setting).
    var modelLabel: String? { get }

    /// Forward of a (micro-)batch, on the tape when parameters are tracked: outputs whose loss couples the global batch
    /// (handed to `globalLoss` over the whole local batch) and the mean loss of terms local to these samples.
    func forward(_ batch: TaskBatch) -> TaskOutputs

    /// The loss that couples samples across ranks, from this rank's `outputs` of its whole local batch (micro-batches
    /// concatenated): this rank's loss, the gradient of each output, and gradients of parameters the tape does not
    /// reach. Called only when `forward` returned global outputs.
    func globalLoss(_ outputs: [Tensor], communicator: Communicator) throws -> GlobalLoss

    /// Parameter-name prefixes the family's own settings freeze for the whole run (e.g. `--lock-image`).
    var frozenPrefixes: [String] { get }
    /// Whether AdamW decays parameter `name` of `shape` (default: OpenCLIP's rule, not gains, biases or scalars).
    func decays(name: String, shape: [Int]) -> Bool
    /// Runs after every applied optimizer step (e.g. clamping a temperature).
    func didStep()
    /// Per-step values worth logging besides loss and learning rate (e.g. `logit_scale`).
    var stepMetrics: [String: Double] { get }

    /// How many blocks of each tower, from the first, recompute activations in backward (Int.max: all), and recompute
    /// only their MLP hidden layer.
    func setRecomputation(blocks: Int, mlpBlocks: Int)

    /// Takes the settings of the stage that starts (the run's, with the stage's `settings:` applied): the family reads
    /// again every setting it declares `perStage`. Called before the first step and at every stage change.
    func applyStageSettings(_ settings: Settings)

    /// Training batches for this rank.
    func trainingData(_ context: RunContext) throws -> TrainingDataSource
    /// Evaluation for rank 0 during training and for `swiftclip eval`, or nil when the data gives nothing to evaluate.
    func evaluation(_ context: RunContext) throws -> TaskEvaluation?
    /// Text recorded in checkpoints so a checkpoint alone can be evaluated (e.g. a trained tokenizer's JSON); set back
    /// when a checkpoint is loaded.
    var checkpointAttachment: String? { get set }
}

extension TrainingTask {
    public func decays(name: String, shape: [Int]) -> Bool { AdamW.decays(name: name, shape: shape) }
    public func didStep() {}
    public var stepMetrics: [String: Double] { [:] }
    public var frozenPrefixes: [String] { [] }
    public var modelLabel: String? { nil }
    public func applyStageSettings(_ settings: Settings) {}
}

/// What `TrainingTask.forward` produced.
public struct TaskOutputs {
    /// Outputs whose loss spans the global batch (e.g. image and text embeddings), `[samples, ...]` each.
    public var global: [Tensor]
    /// Mean over these samples of the loss terms that need no other sample (e.g. captioning cross-entropy); a scalar.
    public var local: Tensor?

    public init(global: [Tensor] = [], local: Tensor? = nil) {
        self.global = global
        self.local = local
    }
}

/// A global loss and its gradients on this rank.
public struct GlobalLoss {
    /// This rank's share: the engine averages it over ranks for logging, as the gradients are averaged.
    public var loss: Float
    /// Gradient of each global output (this rank's rows, every rank's contribution summed back to the owner).
    public var outputGradients: [Tensor]
    /// Gradients of parameters outside the tape (e.g. the temperature), by parameter.
    public var parameterGradients: [(Parameter, [Float])]
    /// Named parts of the loss worth logging (this rank's, unweighted), e.g. a distillation term.
    public var terms: [String: Float] = [:]

    public init(loss: Float, outputGradients: [Tensor], parameterGradients: [(Parameter, [Float])] = []) {
        self.loss = loss
        self.outputGradients = outputGradients
        self.parameterGradients = parameterGradients
    }
}

/// Evaluation of a family's model: metrics with stable names (OpenCLIP's where they exist).
public protocol TaskEvaluation: AnyObject {
    /// Metric names `evaluate` can produce with the data given (a plateau on any other metric is an error).
    var metricNames: [String] { get }
    /// Every metric, or the parts due at this point (`due` names parts such as "zeroshot", "retrieval"; nil: all).
    func evaluate(due: Set<String>?) throws -> [String: Double]
    /// Parts that follow an epoch frequency setting, by part name (e.g. "zeroshot": --zeroshot-frequency).
    var frequencies: [String: Int] { get }
    /// What the last `evaluate` found that is not one number, by name (a confusion matrix, per-class scores): rows of
    /// numbers, written to `results.jsonl` next to the metrics and printed by `swiftclip eval`.
    var tables: [String: [[Double]]] { get }
}

extension TaskEvaluation {
    public var tables: [String: [[Double]]] { [:] }
}

/// What a family needs to know about the run it is part of.
public struct RunContext {
    public var settings: Settings
    public var rank: Int
    public var worldSize: Int
    /// LOGS/NAME: the run's outputs (a trained tokenizer is kept there).
    public var runDirectory: String

    public init(settings: Settings, rank: Int = 0, worldSize: Int = 1, runDirectory: String) {
        self.settings = settings
        self.rank = rank
        self.worldSize = worldSize
        self.runDirectory = runDirectory
    }
}

/// A model family: its name, its settings, and how it builds a task.
public protocol ModelFamily {
    /// `--task` value and the name checkpoints record.
    static var name: String { get }
    /// Settings only this family reads.
    static var settings: any SettingCatalog { get }
    /// A freshly initialised model for `settings` (drawn from `--seed`).
    static func makeTask(settings: Settings) throws -> TrainingTask
    /// A model with the recorded configuration, parameters not yet loaded (checkpoints, export, eval).
    static func makeTask(modelConfig: JSONValue, settings: Settings) throws -> TrainingTask
}
