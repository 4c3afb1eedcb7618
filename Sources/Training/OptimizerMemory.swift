import Foundation

/// The optimizer memory line printed at the start of training and at each stage change: bytes of AdamW moments and of
/// gradient buffers each rank holds, which cover only the parameters that train.
struct OptimizerMemory {
    let engine: StepEngine
    let parameterCount: Int
    let ranks: Int

    /// The line as printed at the start.
    var line: String { "swiftclip: " + text }

    /// The line without the program name (a run message at a stage change).
    var text: String {
        let unsharded = 2 * engine.trainableCount * MemoryLayout<Float>.stride
        let held = engine.optimizerStateBytes
        let mode = engine.isOptimizerSharded ? "ZeRO-1, sharded over \(ranks) ranks" : "not sharded"
        func megabytes(_ bytes: Int) -> String { String(format: "%.2f", Double(bytes) / 1_048_576) }
        return "optimizer state: \(held) bytes (\(megabytes(held)) MB) of AdamW moments on rank 0 (\(mode); \(unsharded) bytes unsharded), gradients \(engine.gradientBytes) bytes (\(megabytes(engine.gradientBytes)) MB), for \(engine.trainableCount) of \(parameterCount) parameters trainable"
    }
}
