import TrainingKit

/// Checks that span several engine settings (single values are checked where they are declared); errors name the flags.
enum EngineValidation {
    static func check(_ settings: Settings) throws {
        func require(_ ok: Bool, _ message: String) throws { if !ok { throw TrainingError(message) } }
        try require(settings.batchSize % settings.accumFreq == 0,
                    "--accum-freq \(settings.accumFreq) must divide --batch-size \(settings.batchSize) (micro-batches of equal size)")
        try require([.synthetic, .random].contains(settings.datasetType) || settings.trainData != nil,
                    "--train-data is required for --dataset-type \(settings.datasetType.rawValue)")
        // The default is synthetic: files given without --dataset-type would otherwise be silently ignored.
        try require(![.synthetic, .random].contains(settings.datasetType) || settings.trainData == nil,
                    "--train-data \(settings.trainData ?? "") is not read by --dataset-type \(settings.datasetType.rawValue) (the default is synthetic): give --dataset-type webdataset, csv or auto")
    }

    /// A stage that ends on a plateau of a metric no evaluation of this run produces would never end.
    static func checkPlateauMetrics(_ settings: Settings, available: [String]) throws {
        for stage in settings.stages.stages {
            guard let plateau = stage.plateau, !available.contains(plateau.metric) else { continue }
            let known = available.isEmpty ? "this run evaluates nothing (give evaluation data)" : "known: \(available.sorted().joined(separator: ", "))"
            throw TrainingError("stage \(stage.name): plateau metric '\(plateau.metric)' is not produced by any evaluation of this run (\(known))")
        }
    }
}
