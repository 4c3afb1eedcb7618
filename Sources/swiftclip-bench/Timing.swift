import Foundation
import TensorCore

/// Wall-clock timing helpers shared by the benchmarks.
enum Timing {
    /// Monotonic time in seconds.
    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    /// Seconds taken by `body`.
    static func seconds(_ body: () -> Void) -> Double {
        let start = now()
        body()
        return now() - start
    }

    /// Median seconds of `reference` and `candidate`, run alternately `repetitions` times after one
    /// warm-up each, so that drift of the machine (frequency, other load) affects both alike.
    static func interleaved(repetitions: Int, reference: () -> Void, candidate: () -> Void) -> (reference: Double, candidate: Double) {
        reference(); candidate()
        var r: [Double] = [], c: [Double] = []
        for i in 0..<repetitions {
            // Alternate which one goes first to cancel cache and ordering effects.
            if i % 2 == 0 {
                r.append(seconds(reference)); c.append(seconds(candidate))
            } else {
                c.append(seconds(candidate)); r.append(seconds(reference))
            }
        }
        return (r.median, c.median)
    }
}

/// Keeps the optimiser from discarding a computed value.
@inline(never) func consume<T>(_ value: T) { withExtendedLifetime(value) {} }
