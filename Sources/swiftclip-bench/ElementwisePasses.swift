import Foundation
import TensorCore

/// Memory-bound passes of the training step, timed against memcpy moving the same number of bytes.
enum ElementwisePasses {
    struct Pass {
        let name: String
        /// Bytes read plus bytes written by one run.
        let bytes: Int
        let run: () -> Void
    }

    /// Elements per tensor: 8 Mi floats (32 MiB), larger than any cache, like a ViT-B batch's activations.
    static let count = Int(ProcessInfo.processInfo.environment["SWIFTCLIP_BENCH_ELEMENTS"] ?? "") ?? 1 << 23

    static func all() -> [Pass] {
        var g = SplitMix64(seed: 2)
        let n = count, f = 4
        let a = Tensor.randomNormal([n / 1024, 1024], using: &g), b = Tensor.randomNormal([n / 1024, 1024], using: &g)
        let bias = Tensor.randomNormal([1024], using: &g)
        let w = Tensor.randomUniform([1024], low: 0.5, high: 1.5, using: &g)
        let dy = Tensor.randomNormal([n / 1024, 1024], using: &g)
        let scores = Tensor.randomNormal([n / 256, 256], using: &g), dScores = Tensor.randomNormal([n / 256, 256], using: &g)
        func backward(_ body: () -> Void) { Tape.shared.reset(); body() }
        return [
            Pass(name: "add", bytes: 3 * n * f) { consume(a + b) },
            Pass(name: "add bias row", bytes: 2 * n * f) { consume(a + bias) },
            Pass(name: "multiply", bytes: 3 * n * f) { consume(a * b) },
            Pass(name: "scale", bytes: 2 * n * f) { consume(a * 0.5) },
            Pass(name: "gelu", bytes: 2 * n * f) { consume(a.gelu()) },
            Pass(name: "gelu fwd+bwd", bytes: 5 * n * f) {
                backward { let x = a.tracked(); consume(Tape.shared.backward(from: x.gelu(), seed: dy)) }
            },
            Pass(name: "layerNorm", bytes: 2 * n * f) { consume(a.layerNorm(weight: w, bias: bias)) },
            Pass(name: "layerNorm fwd+bwd", bytes: 5 * n * f) {
                backward {
                    let x = a.tracked(), tw = w.tracked(), tb = bias.tracked()
                    consume(Tape.shared.backward(from: x.layerNorm(weight: tw, bias: tb), seed: dy))
                }
            },
            Pass(name: "softmax", bytes: 2 * n * f) { consume(scores.softmax()) },
            Pass(name: "softmax fwd+bwd", bytes: 5 * n * f) {
                backward { let x = scores.tracked(); consume(Tape.shared.backward(from: x.softmax(), seed: dScores)) }
            },
            // Forward add of a bias row (read 4N, write 4N) plus its backward, the column sums of dy (read 4N).
            Pass(name: "bias add fwd+bwd", bytes: 3 * n * f) {
                backward {
                    let tb = bias.tracked()
                    consume(Tape.shared.backward(from: a + tb, seed: dy))
                }
            },
        ]
    }

    /// (memcpy GB/s, ours GB/s) for `pass`, memcpy copying `pass.bytes / 2` bytes.
    static func measure(_ pass: Pass, repetitions: Int = 9) -> (Double, Double) {
        let copyBytes = pass.bytes / 2
        let source = UnsafeMutableRawPointer.allocate(byteCount: copyBytes, alignment: 64)
        let destination = UnsafeMutableRawPointer.allocate(byteCount: copyBytes, alignment: 64)
        defer { source.deallocate(); destination.deallocate() }
        source.initializeMemory(as: UInt8.self, repeating: 1, count: copyBytes)
        destination.initializeMemory(as: UInt8.self, repeating: 0, count: copyBytes)
        let (copy, ours) = Timing.interleaved(repetitions: repetitions,
                                              reference: { memcpy(destination, source, copyBytes) },
                                              candidate: pass.run)
        return (Double(pass.bytes) / copy / 1e9, Double(pass.bytes) / ours / 1e9)
    }
}
