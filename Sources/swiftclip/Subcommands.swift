import ArgumentParser

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
        BenchCheckpointCommand.self,
        PlanCommand.self,
    ]
}

/// Prints the version.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the SwiftCLIP version.")
    func run() { print("swiftclip 0.1.0") }
}
