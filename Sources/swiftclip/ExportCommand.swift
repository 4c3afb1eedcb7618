import ArgumentParser
import Foundation
import Training

/// `swiftclip export`: model weights as safetensors that OpenCLIP's `load_state_dict` accepts.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export model weights (OpenCLIP state-dict keys, F32) from a checkpoint or a weights file.")

    @Option(name: .long, help: "Checkpoint file, or a run's checkpoints/ folder (its newest checkpoint that verifies).")
    var checkpoint: String?
    @Option(name: .long, help: "A safetensors weights file to check strictly against --model and re-write.")
    var weights: String?
    @Option(name: .long, help: "Model name or config JSON (with --weights).")
    var model: String?
    @Option(name: .long, help: "Model family of --model (with --weights).")
    var task = "clip"
    @Option(name: .long, help: "Output format: safetensors.")
    var format = "safetensors"
    @Option(name: .long, help: "Output file.")
    var output: String

    func validate() throws {
        guard format == "safetensors" else { throw ValidationError("--format \(format) is not supported (safetensors)") }
        guard (checkpoint == nil) != (weights == nil) else { throw ValidationError("give exactly one of --checkpoint and --weights") }
        if weights != nil && model == nil { throw ValidationError("--weights needs --model") }
    }

    func run() throws {
        try reportingErrors("export") {
            if let checkpoint {
                try WeightsExport.safetensors(checkpoint: checkpoint, output: output) { print("swiftclip: \($0)") }
            } else if let weights, let model {
                let settings = try Families.settings(arguments: ["--task", task, "--model", model])
                try WeightsExport.safetensors(weights: weights, settings: settings, output: output)
                print("swiftclip: wrote \(output)")
            }
        }
    }
}

/// Runs `body`, turning a thrown error into one line on standard error and a non-zero exit.
func reportingErrors(_ command: String, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("swiftclip \(command): \(error)\n".utf8))
        throw ExitCode.failure
    }
}
