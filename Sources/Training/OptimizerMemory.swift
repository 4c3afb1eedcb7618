import Foundation

/// The optimizer memory line printed at the start of training: bytes of AdamW moments each rank holds.
struct OptimizerMemory {
    let engine: StepEngine
    let parameterCount: Int
    let ranks: Int

    var line: String {
        let unsharded = 2 * parameterCount * MemoryLayout<Float>.stride
        let held = engine.optimizerStateBytes
        let mode = engine.isOptimizerSharded ? "ZeRO-1, sharded over \(ranks) ranks" : "not sharded"
        let megabytes = String(format: "%.2f", Double(held) / 1_048_576)
        return "swiftclip: optimizer state: \(held) bytes (\(megabytes) MB) of AdamW moments on rank 0 (\(mode); \(unsharded) bytes unsharded)"
    }
}
