// swiftclip-bench NAME [--json]: runs one benchmark; with --json the last line is one JSON object.
// swiftclip-bench fbank WAV REPS: our side of Benchmarks/fbank.sh (prints one JSON object).
import Foundation
import TensorCore

// The same OpenBLAS kernels as swiftclip itself runs.
BLASKernelChoice.restartWithBetterKernelsIfNeeded()

let benchmarks: [String: (Bool) -> Void] = [
    "matmul": MatmulBenchmark.run,
    "kernels": KernelProbe.run,
]

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "fbank" {
    FbankBenchmark.run(Array(arguments.dropFirst()))
    exit(0)
}
guard let name = arguments.first, let benchmark = benchmarks[name] else {
    FileHandle.standardError.write("usage: swiftclip-bench NAME [--json]; NAME is one of: \(benchmarks.keys.sorted().joined(separator: ", ")); or swiftclip-bench fbank WAV REPS\n".data(using: .utf8)!)
    exit(2)
}
benchmark(arguments.contains("--json"))
