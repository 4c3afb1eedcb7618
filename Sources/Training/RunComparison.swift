import Checkpoint
import Foundation
import TrainingKit
import NN

/// Compares two runs (their logged losses and final parameters) or two weight files, tensor by tensor.
public struct RunComparison {
    /// Per-tensor comparison: max |a − b| relative to max |a|.
    public struct TensorDifference: Sendable {
        public let name: String
        public let maxAbsolute: Float
        public let relative: Float
        public let bitIdentical: Bool
    }

    /// Parameters of a run folder (its newest verified checkpoint), a checkpoint file or folder, or a safetensors file.
    public static func parameters(_ path: String) throws -> [String: [Float]] {
        if path.hasSuffix(".safetensors") { return try Safetensors.read(path).tensors.mapValues(\.floats) }
        var target = path
        if FileManager.default.fileExists(atPath: path + "/checkpoints") { target = path + "/checkpoints" }
        guard let loaded = try RunCheckpoints.load(target, runCheckpoints: target, messages: { _ in }) else {
            throw TrainingError("\(path): no checkpoint found")
        }
        var result: [String: [Float]] = [:]
        for t in loaded.tensors where !t.name.hasPrefix("adamw.") { result[t.name] = t.values }
        return result
    }

    /// Differences of every shared tensor; a key present in only one side is an error naming it.
    /// `ignoreKeyBias` leaves out the key part of `in_proj_bias`, whose true gradient is zero (rounding noise only).
    public static func compare(_ a: [String: [Float]], _ b: [String: [Float]], ignoreKeyBias: Bool) throws -> [TensorDifference] {
        guard Set(a.keys) == Set(b.keys) else {
            let only = Set(a.keys).symmetricDifference(b.keys).sorted()
            throw TrainingError("the two sides hold different tensors (e.g. \(only.first!))")
        }
        return try a.keys.sorted().map { name in
            var x = a[name]!, y = b[name]!
            guard x.count == y.count else { throw TrainingError("tensor \(name) has \(x.count) vs \(y.count) values") }
            let identical = x.withUnsafeBytes { xb in y.withUnsafeBytes { yb in xb.elementsEqual(yb) } }
            if ignoreKeyBias && name.hasSuffix("in_proj_bias") {
                let w = x.count / 3
                x.removeSubrange(w..<(2 * w)); y.removeSubrange(w..<(2 * w))
            }
            var diff: Float = 0, scale: Float = 0
            for (p, q) in zip(x, y) { diff = max(diff, abs(p - q)); scale = max(scale, abs(p)) }
            return TensorDifference(name: name, maxAbsolute: diff, relative: diff / max(scale, 1e-30), bitIdentical: identical)
        }
    }

    /// The `loss` of every logged step in a run's results.jsonl.
    public static func losses(run: String) throws -> [Int: Double] {
        let path = run + "/results.jsonl"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw TrainingError("\(path): cannot read") }
        var result: [Int: Double] = [:]
        for line in text.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let step = object["step"] as? Int, let loss = object["loss"] as? Double else { continue }
            result[step] = loss
        }
        return result
    }
}
