import DataPipeline
import TensorCore
import Text
import TrainingKit

/// Classification metrics on the validation set with every modality present and, with several modalities, with each
/// one removed (the same names ending `_without_<modality>`): single-label `val_accuracy`, `val_top5`, `val_macro_f1` and
/// the confusion matrix (table `val_confusion`); multi-label `val_map`, `val_map_micro`, `val_macro_f1` at its tuned
/// `val_f1_threshold` and per-class AP (table `val_ap`, -1 for a class without a positive sample).
final class FusionEvaluation: TaskEvaluation {
    let task: FusionTask
    let source: SampleSource
    let tokenizer: TextTokenizer
    let batchSize: Int
    let workers: Int
    let frequency: Int
    private(set) var tables: [String: [[Double]]] = [:]

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

    var metricNames: [String] {
        let names = task.multiLabel ? MultiLabelMetrics(logits: [], targets: [], classes: 1).named().keys.sorted()
            : ClassificationMetrics(logits: [], labels: [], classes: 1).named().keys.sorted()
        return suffixes.flatMap { suffix in names.map { $0 + suffix } }
    }

    var frequencies: [String: Int] { ["classification": frequency] }

    func evaluate(due: Set<String>?) throws -> [String: Double] {
        guard due?.contains("classification") ?? true else { return [:] }
        return try withoutGradients {
            let config = task.model.config, classes = config.classes
            let setup = task.dataSetup(RunContext(settings: task.settings, runDirectory: ""))
            let size = config.towers.vision?.imageSize ?? 224
            let options = LoaderOptions(mode: .evaluation, batchSize: batchSize, transform: ImageTransform(mode: .eval, size: size),
                                        contextLength: config.towers.text?.contextLength ?? 77, workers: workers, fields: setup.fields,
                                        audio: setup.audioTransform(training: false))
            let loader = try DataLoader(source: source, tokenizer: tokenizer, options: options)
            var logits = [[Float]](repeating: [], count: suffixes.count), labels: [Int] = [], targets: [Float] = []
            var seen = 0
            while let (batch, _) = try loader.next() {
                guard batch.count > 0 else { continue }
                let taskBatch = LoaderDataSource.taskBatch(batch, imageSize: size, waitSeconds: 0)
                let rows = taskBatch.rows(task.labelField.name).map(Int.init)
                let width = rows.count / batch.count
                if let bad = rows.firstIndex(where: { $0 >= classes || ($0 < 0 && !task.multiLabel) }) {
                    let row = bad / width, number = "validation sample \(seen + row)"
                    let name = taskBatch.keys.indices.contains(row) && !taskBatch.keys[row].isEmpty ? "\(taskBatch.keys[row]) (\(number))" : number
                    throw TrainingError("\(name): label \(rows[bad]) is outside the \(classes) classes of --num-classes")
                }
                seen += batch.count
                if task.multiLabel {
                    targets += MultiLabelLoss.multiHot(taskBatch.rows(task.labelField.name), samples: batch.count, classes: classes)
                } else {
                    labels += rows
                }
                for (index, _) in suffixes.enumerated() {
                    let presence = index == 0 ? ModalityPresence.all(samples: batch.count, modalities: modalities.count)
                        : ModalityPresence.without(index - 1, samples: batch.count, modalities: modalities.count)
                    logits[index] += task.logits(taskBatch, presence: presence).values
                }
            }
            var metrics: [String: Double] = [:]
            for (index, suffix) in suffixes.enumerated() {
                if task.multiLabel {
                    let found = MultiLabelMetrics(logits: logits[index], targets: targets, classes: classes)
                    metrics.merge(found.named(suffix: suffix)) { $1 }
                    if index == 0 { tables = ["val_ap": [found.averagePrecisions.map { $0 ?? -1 }]] }
                } else {
                    let found = ClassificationMetrics(logits: logits[index], labels: labels, classes: classes)
                    metrics.merge(found.named(suffix: suffix)) { $1 }
                    if index == 0 { tables = ["val_confusion": found.confusion.map { $0.map(Double.init) }] }
                }
            }
            return metrics
        }
    }
}
