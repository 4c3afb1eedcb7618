import ArgumentParser
import CLIP
import Foundation
import Retrieval
import Training
import TrainingKit

/// `swiftclip train`: data-parallel training of any registered model family; run it under `mpirun` for several ranks.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model (alone, or one rank per process under mpirun).",
        discussion: """
        Settings come from a YAML recipe (--config FILE) whose keys are the long flag names below, overridden by \
        flags on the command line (--name value, --name=value; switches may be given bare, as in OpenCLIP). Outputs go \
        to LOGS/NAME/: results.jsonl, checkpoints/ (with a `latest` pointer), tensorboard/ and recipe.yaml (the resolved \
        settings, which --config reads back). Families: \(Families.all.map { $0.name }.joined(separator: ", ")) (--task).

        \(Families.registry.helpText)
        """)

    @Argument(parsing: .allUnrecognized, help: "Settings: --config RECIPE.yaml and --name value pairs (see above).")
    var arguments: [String] = []

    func run() throws {
        // Embeddings folders are Retrieval's format, above the families in the module graph.
        PrecomputedEmbeddingsReader.open = { try TeacherEmbeddings(directory: $0) }
        try reportingErrors("train") {
            try TrainingRun(settings: try Families.settings(arguments: arguments)).run()
        }
    }
}

