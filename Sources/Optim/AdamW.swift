import Foundation
import TensorCore

/// AdamW over a flat parameter buffer, with PyTorch's update rule (decoupled decay applied first).
///
/// p ← p·(1 − lr·wd); m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
/// p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε).
/// Moments and gradients cover only the segments given, packed back to back (`Segment.offset`), while each segment's
/// values may sit anywhere in the parameter buffer (`Segment.valueOffset`): an optimizer built over the parameters that
/// train keeps no state for the others. Each segment has its own step count (its bias correction).
///
/// With ZeRO-1 an instance updates only `shard`, a range of the flat buffer that may cut through segments: it holds
/// moments for that range alone, and each segment's piece inside it is updated with the segment's own decay and step
/// count. The rule is element-wise, so a piece gets exactly the values the whole segment would. Step counts are kept
/// for every segment on every rank, so they stay the same everywhere and in checkpoints.
public final class AdamW {
    public struct Hyperparameters: Codable, Equatable, Sendable {
        public var beta1: Float = 0.9
        public var beta2: Float = 0.98
        public var epsilon: Float = 1e-6
        public var weightDecay: Float = 0.2
        public init(beta1: Float = 0.9, beta2: Float = 0.98, epsilon: Float = 1e-6, weightDecay: Float = 0.2) {
            self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon; self.weightDecay = weightDecay
        }
    }

    /// One parameter: its run of the packed moment and gradient buffers, and where its values are.
    public struct Segment: Sendable {
        public let name: String
        /// Position in the packed moments and gradients.
        public let offset: Int
        public let count: Int
        public let decay: Bool
        /// Position of its values in the parameter buffer.
        public let valueOffset: Int
        public init(name: String, offset: Int, count: Int, decay: Bool, valueOffset: Int? = nil) {
            self.name = name; self.offset = offset; self.count = count; self.decay = decay
            self.valueOffset = valueOffset ?? offset
        }
    }

    public var hyperparameters: Hyperparameters
    public let segments: [Segment]
    /// The part of the flat buffer this instance updates (all of it unless sharded).
    public let shard: Range<Int>
    /// First and second moments of `shard`, one buffer each, laid out like the parameters from `shard.lowerBound` on.
    public private(set) var firstMoment: [Float]
    public private(set) var secondMoment: [Float]
    /// Number of updates each segment has received (its bias-correction step).
    public private(set) var steps: [Int]

    /// - Parameter shard: the range to update and keep moments for; nil: the whole buffer.
    public init(segments: [Segment], hyperparameters: Hyperparameters = Hyperparameters(), shard: Range<Int>? = nil) {
        self.segments = segments
        self.hyperparameters = hyperparameters
        self.shard = shard ?? 0..<(segments.map { $0.offset + $0.count }.max() ?? 0)
        firstMoment = [Float](repeating: 0, count: self.shard.count)
        secondMoment = [Float](repeating: 0, count: self.shard.count)
        steps = [Int](repeating: 0, count: segments.count)
    }

    /// OpenCLIP's rule: no weight decay for parameters with fewer than 2 dimensions or whose names
    /// contain `bn`, `ln`, `bias` or `logit_scale`.
    public static func decays(name: String, shape: [Int]) -> Bool {
        !(shape.count < 2 || name.contains("bn") || name.contains("ln") || name.contains("bias") || name.contains("logit_scale"))
    }

    /// One update of the segments for which `active` holds, with learning rate `lr`: `parameters` is the whole
    /// parameter buffer (segments' `valueOffset`), `gradients` covers `shard` of the packed space (index 0 is
    /// `shard.lowerBound`).
    public func step(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, lr: Float,
                     active: (Int) -> Bool = { _ in true }) {
        let h = hyperparameters, base = shard.lowerBound
        firstMoment.withUnsafeMutableBufferPointer { mBuffer in
            secondMoment.withUnsafeMutableBufferPointer { vBuffer in
                let m = mBuffer.baseAddress!, v = vBuffer.baseAddress!
                for (index, s) in segments.enumerated() where active(index) {
                    steps[index] += 1
                    let lower = max(s.offset, shard.lowerBound), upper = min(s.offset + s.count, shard.upperBound)
                    guard lower < upper else { continue }
                    let t = Double(steps[index])
                    let bc1 = 1 - Foundation.pow(Double(h.beta1), t), bc2 = 1 - Foundation.pow(Double(h.beta2), t)
                    let stepSize = Float(Double(lr) / bc1)
                    let inverseSqrtBC2 = Float(1 / bc2.squareRoot())
                    let decay: Float = s.decay ? 1 - lr * h.weightDecay : 1
                    let rule = AdamWRule(beta1: h.beta1, beta2: h.beta2, epsilon: h.epsilon, decay: decay,
                                         stepSize: stepSize, inverseSqrtBC2: inverseSqrtBC2)
                    rule.apply(parameters + (s.valueOffset + lower - s.offset), gradients + (lower - base), m + (lower - base), v + (lower - base), upper - lower)
                }
            }
        }
    }

    /// Calls `body` with the writable first and second moments of `shard` (e.g. to broadcast them from rank 0).
    public func withMoments<R>(_ body: (UnsafeMutableBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try firstMoment.withUnsafeMutableBufferPointer { m in try secondMoment.withUnsafeMutableBufferPointer { v in try body(m, v) } }
    }

    /// Sets each segment's step count (from a checkpoint).
    public func restore(steps s: [Int]) throws {
        guard s.count == steps.count else {
            throw OptimizerStateError("optimizer state has \(s.count) step counters, expected \(steps.count)")
        }
        steps = s
    }

    /// Replaces the optimizer state (from a checkpoint); sizes must match.
    public func restore(firstMoment m: [Float], secondMoment v: [Float], steps s: [Int]) throws {
        guard m.count == firstMoment.count, v.count == secondMoment.count, s.count == steps.count else {
            throw OptimizerStateError("optimizer state has \(m.count)/\(v.count) moments and \(s.count) step counters, expected \(firstMoment.count) and \(steps.count)")
        }
        firstMoment = m; secondMoment = v; steps = s
    }
}

/// Optimizer state that does not fit the model.
public struct OptimizerStateError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The per-element AdamW update with one step's constants, written once for one lane and for eight.
///
/// LLVM does not vectorise the scalar loop (the square root and division stay scalar), which made the update
/// compute-bound at half the memory rate. Eight lanes run the same IEEE operations in the same order as one,
/// so the results are bit for bit those of the scalar loop.
struct AdamWRule {
    let beta1: Float, beta2: Float, epsilon: Float, decay: Float, stepSize: Float, inverseSqrtBC2: Float

    @inline(__always) func update<T: MultiplyAddable>(_ p: T, _ g: T, _ m: T, _ v: T) -> (p: T, m: T, v: T) {
        let mi = T(splat: beta1) * m + T(splat: 1 - beta1) * g
        let vi = T(splat: beta2) * v + T(splat: 1 - beta2) * g * g
        let p = p * T(splat: decay) - T(splat: stepSize) * mi / (vi.squareRoot() * T(splat: inverseSqrtBC2) + T(splat: epsilon))
        return (p, mi, vi)
    }

    func apply(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
               _ v: UnsafeMutablePointer<Float>, _ count: Int) {
        var i = 0
        while i + 8 <= count {
            let (pi, mi, vi) = update(load8(p, i), load8(g, i), load8(m, i), load8(v, i))
            store8(pi, p, i); store8(mi, m, i); store8(vi, v, i)
            i += 8
        }
        while i < count {
            (p[i], m[i], v[i]) = update(p[i], g[i], m[i], v[i])
            i += 1
        }
    }
}
