import Foundation

/// Learning-rate schedules as OpenCLIP's `--lr-scheduler` (cosine, const, const-cooldown), each with linear warmup.
public struct LearningRateSchedule: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case cosine, const, constCooldown = "const-cooldown" }

    public var kind: Kind
    public var baseLR: Float
    public var warmupSteps: Int
    public var totalSteps: Int
    /// Cool-down length for `const-cooldown` (OpenCLIP's `--epochs-cooldown`, in steps here).
    public var cooldownSteps: Int = 0
    public var cooldownEndLR: Float = 0
    /// Power of the cool-down curve (OpenCLIP's `--lr-cooldown-power`).
    public var cooldownPower: Float = 1

    public init(kind: Kind, baseLR: Float, warmupSteps: Int, totalSteps: Int) {
        self.kind = kind; self.baseLR = baseLR; self.warmupSteps = warmupSteps; self.totalSteps = totalSteps
    }

    /// The learning rate for optimizer step `step` (0-based), as OpenCLIP computes it.
    public func learningRate(at step: Int) -> Float {
        if step < warmupSteps { return baseLR * Float(step + 1) / Float(warmupSteps) }
        switch kind {
        case .const:
            return baseLR
        case .cosine:
            let e = step - warmupSteps, span = max(totalSteps - warmupSteps, 1)
            return Float(0.5 * (1 + Foundation.cos(Double.pi * Double(e) / Double(span)))) * baseLR
        case .constCooldown:
            let start = totalSteps - cooldownSteps
            if step < start { return baseLR }
            let progress = Float(step - start) / Float(max(cooldownSteps, 1))
            return cooldownEndLR + (baseLR - cooldownEndLR) * Foundation.pow(1 - progress, cooldownPower)
        }
    }
}
