import ArgumentParser
import Foundation
import Training

/// `swiftclip compare`: are two runs or weight files the same, to a tolerance?
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two runs (logged losses and final parameters) or two checkpoints/weight files.",
        discussion: "Each side is a run folder, a checkpoint file or folder, or a .safetensors file. Exits non-zero when a tolerance is exceeded.")

    @Argument(help: "First run, checkpoint or weights file.") var first: String
    @Argument(help: "Second run, checkpoint or weights file.") var second: String
    @Option(name: .long, help: "Per-tensor tolerance: max |a - b| / max |a|.") var parameterTolerance: Float = 1e-5
    @Option(name: .long, help: "Relative tolerance of the losses at every step logged by both runs.") var lossTolerance: Double = 1e-5
    @Flag(name: .long, help: "Require bit-identical parameters and losses.") var exact = false
    @Flag(name: .long, help: "Ignore the key part of in_proj_bias (true gradient zero: AdamW moves it by rounding noise).") var ignoreKeyBias = false

    func run() throws {
        try reportingErrors("compare") {
            var failures = 0
            let isRun = { (p: String) in FileManager.default.fileExists(atPath: p + "/results.jsonl") }
            if isRun(first) && isRun(second) {
                let a = try RunComparison.losses(run: first), b = try RunComparison.losses(run: second)
                let steps = Set(a.keys).intersection(b.keys).sorted()
                var worst = 0.0
                for step in steps {
                    let rel = abs(a[step]! - b[step]!) / max(abs(a[step]!), 1e-12)
                    worst = max(worst, rel)
                    if exact ? a[step]! != b[step]! : rel > lossTolerance {
                        print("FAIL loss at step \(step): \(a[step]!) vs \(b[step]!) (relative \(rel))")
                        failures += 1
                    }
                }
                print("losses: \(steps.count) common steps, worst relative difference \(worst)")
                if steps.isEmpty { print("FAIL no common logged steps"); failures += 1 }
            }
            let differences = try RunComparison.compare(try RunComparison.parameters(first), try RunComparison.parameters(second),
                                                        ignoreKeyBias: ignoreKeyBias)
            for d in differences where exact ? !d.bitIdentical : d.relative > parameterTolerance {
                print("FAIL \(d.name): max abs difference \(d.maxAbsolute), relative \(d.relative)")
                failures += 1
            }
            let worst = differences.max { $0.relative < $1.relative }
            print("parameters: \(differences.count) tensors, \(differences.filter(\.bitIdentical).count) bit-identical, worst relative difference \(worst?.relative ?? 0) (\(worst?.name ?? "-"))")
            print("compare: \(failures == 0 ? "same" : "DIFFERENT") (\(first) vs \(second))")
            if failures > 0 { throw ExitCode.failure }
        }
    }
}
