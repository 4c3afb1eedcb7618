import ArgumentParser
import Foundation
import TensorCore
import Training

/// `swiftclip export`: model weights as safetensors that OpenCLIP's `load_state_dict` accepts, or as a weights-only
/// checkpoint for inference; float32, bfloat16 or float16.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export model weights (OpenCLIP state-dict keys; F32, BF16 or F16) from a checkpoint or a weights file.")

    @Option(name: .long, help: "Checkpoint file, or a run's checkpoints/ folder (its newest checkpoint that verifies).")
    var checkpoint: String?
    @Option(name: .long, help: "A safetensors weights file to check strictly against --model and re-write.")
    var weights: String?
    @Option(name: .long, help: "Model name or config JSON (with --weights).")
    var model: String?
    @Option(name: .long, help: "Model family of --model (with --weights).")
    var task = "clip"
    @Option(name: .long, help: "Output format: safetensors, or checkpoint (weights only, for eval/embed/serve/caption; needs --checkpoint).")
    var format = "safetensors"
    @Option(name: .long, help: "Stored element type: f32, bf16 or f16 (rounded to nearest, ties to even).")
    var dtype = "f32"
    @Option(name: .long, help: "Output file.")
    var output: String

    func validate() throws {
        let formats = WeightsExport.Format.allCases.map(\.rawValue).joined(separator: ", ")
        guard let format = WeightsExport.Format(rawValue: format) else { throw ValidationError("--format \(format) is not supported (\(formats))") }
        let dtypes = StorageDType.allCases.map(\.rawValue).joined(separator: ", ")
        guard StorageDType(rawValue: dtype) != nil else { throw ValidationError("--dtype \(dtype) is not supported (\(dtypes))") }
        guard (checkpoint == nil) != (weights == nil) else { throw ValidationError("give exactly one of --checkpoint and --weights") }
        if weights != nil && model == nil { throw ValidationError("--weights needs --model") }
        if weights != nil && format == .checkpoint { throw ValidationError("--format checkpoint needs --checkpoint (a run's settings and model)") }
    }

    func run() throws {
        try reportingErrors("export") {
            let dtype = StorageDType(rawValue: dtype)!  // validated
            if let checkpoint {
                try WeightsExport.export(checkpoint: checkpoint, format: WeightsExport.Format(rawValue: format)!, dtype: dtype,
                                         output: output) { print("swiftclip: \($0)") }
            } else if let weights, let model {
                let settings = try Families.settings(arguments: ["--task", task, "--model", model])
                try WeightsExport.safetensors(weights: weights, settings: settings, dtype: dtype, output: output)
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
