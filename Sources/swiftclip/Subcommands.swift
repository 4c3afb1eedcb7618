import ArgumentParser
import TensorCore

/// Every subcommand of `swiftclip`, one per line so that adding one is a one-line change.
enum Subcommands {
    static let all: [ParsableCommand.Type] = [
        VersionCommand.self,
        TrainCommand.self,
        ExportCommand.self,
        CheckpointCommand.self,
        CompareCommand.self,
        EvalCommand.self,
        DataCommand.self,
        ParityCommand.self,
        CaptionCommand.self,
        TokenizeCommand.self,
        TokenizerCommand.self,
        BenchStepCommand.self,
        BenchCaptionCommand.self,
        BenchCheckpointCommand.self,
        BenchCollectionCommand.self,
        PlanCommand.self,
        CaptionMetricsCommand.self,
        EmbedCommand.self,
        IndexCommand.self,
        ServeCommand.self,
        AudioCommand.self,
        HardNegativesCommand.self,
    ]
}

/// Prints the version, or the OpenBLAS kernel family this process runs.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the SwiftCLIP version.")
    @Flag(name: .long, help: "Print only the OpenBLAS kernel family in use (e.g. SkylakeX).") var blasKernels = false
    func run() { print(blasKernels ? BLASKernelChoice.current : "swiftclip 0.1.0 (OpenBLAS kernels: \(BLASKernelChoice.current))") }
}
