/// Smoothed step time, throughput and data-wait share for the progress line and the logs.
///
/// An exponential moving average over steps, so one slow step (a checkpoint, an evaluation) moves the ETA only a
/// little; the first `warmup` recorded steps seed the average with their plain mean, so the first, slower steps
/// (allocation, BLAS warm-up) fade out quickly.
public struct ThroughputMeter: Sendable, Equatable {
    /// Weight of the newest step in the moving average.
    public let smoothing: Double
    public private(set) var secondsPerStep = Double.nan
    public private(set) var dataWaitSecondsPerStep = Double.nan
    public private(set) var samplesPerStep = Double.nan
    public private(set) var steps = 0

    public init(smoothing: Double = 0.1) {
        precondition(smoothing > 0 && smoothing <= 1, "throughput meter: smoothing must be in (0, 1]")
        self.smoothing = smoothing
    }

    /// Adds one step: its wall time, the part of it spent waiting for the next batch, and the global samples it trained on.
    public mutating func record(stepSeconds: Double, dataWaitSeconds: Double, samples: Int) {
        steps += 1
        // Plain mean while the average is young, so the starting value does not linger.
        let weight = max(smoothing, 1 / Double(steps))
        func blend(_ old: Double, _ new: Double) -> Double { old.isNaN ? new : old + weight * (new - old) }
        secondsPerStep = blend(secondsPerStep, stepSeconds)
        dataWaitSecondsPerStep = blend(dataWaitSecondsPerStep, dataWaitSeconds)
        samplesPerStep = blend(samplesPerStep, Double(samples))
    }

    public var samplesPerSecond: Double { samplesPerStep / secondsPerStep }
    /// Fraction of step time spent waiting for data, 0...1 (NaN before the first step).
    public var dataWaitFraction: Double { secondsPerStep > 0 ? min(1, dataWaitSecondsPerStep / secondsPerStep) : .nan }
}
