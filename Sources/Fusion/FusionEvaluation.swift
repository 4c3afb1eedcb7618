import DataPipeline
import TensorCore
import Text
import TrainingKit

/// Classification metrics on the validation set with every modality present (`val_accuracy`, `val_top5`,
/// `val_macro_f1`) and, with several modalities, with each one removed (the same names ending `_without_<modality>`).
final class FusionEvaluation: TaskEvaluation {
    let task: FusionTask
    let source: SampleSource
    let tokenizer: TextTokenizer
    let batchSize: Int
    let workers: Int
    let frequency: Int

    init(task: FusionTask, source: SampleSource, tokenizer: TextTokenizer, settings: Settings) {
        self.task = task
        self.source = source
        self.tokenizer = tokenizer
        batchSize = settings.batchSize
        workers = settings.workers
        frequency = settings.valFrequency
    }

    var modalities: [FusionModality] { task.model.config.modalityList }

    /// The suffixes evaluated: "" (all present), then `_without_<m>` for each modality when there are several.
    var suffixes: [String] { [""] + (modalities.count > 1 ? modalities.map { "_without_\($0.rawValue)" } : []) }

    var metricNames: [String] { suffixes.flatMap { ClassificationMetrics(logits: [], labels: [], classes: 1).named(suffix: $0).keys.sorted() } }

    var frequencies: [String: Int] { ["classification": frequency] }

    func evaluate(due: Set<String>?) throws -> [String: Double] {
        guard due?.contains("classification") ?? true else { return [:] }
        return try withoutGradients {
            let config = task.model.config
            let setup = task.dataSetup(RunContext(settings: task.settings, runDirectory: ""))
            let size = config.towers.vision?.imageSize ?? 224
            let options = LoaderOptions(mode: .evaluation, batchSize: batchSize, transform: ImageTransform(mode: .eval, size: size),
                                        contextLength: config.towers.text?.contextLength ?? 77, workers: workers, fields: setup.fields)
            let loader = try DataLoader(source: source, tokenizer: tokenizer, options: options)
            var logits = [[Float]](repeating: [], count: suffixes.count), labels: [Int] = []
            while let (batch, _) = try loader.next() {
                guard batch.count > 0 else { continue }
                let taskBatch = LoaderDataSource.taskBatch(batch, imageSize: size, waitSeconds: 0)
                let rows = taskBatch.rows("label").map(Int.init)
                if let bad = rows.first(where: { !(0..<config.classes).contains($0) }) {
                    throw TrainingError("validation data: label \(bad) is outside the \(config.classes) classes of --num-classes")
                }
                labels += rows
                for (index, _) in suffixes.enumerated() {
                    let presence = index == 0 ? ModalityPresence.all(samples: batch.count, modalities: modalities.count)
                        : ModalityPresence.without(index - 1, samples: batch.count, modalities: modalities.count)
                    logits[index] += task.logits(taskBatch, presence: presence).values
                }
            }
            var metrics: [String: Double] = [:]
            for (index, suffix) in suffixes.enumerated() {
                metrics.merge(ClassificationMetrics(logits: logits[index], labels: labels, classes: config.classes).named(suffix: suffix)) { $1 }
            }
            return metrics
        }
    }
}
