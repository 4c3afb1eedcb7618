/// The gradient buckets of one step played out against backward, as the trainer runs them (docs/scaling-model.md,
/// "Overlap"): a bucket is sent when backward has finished all of its gradients, buckets go one after another on the
/// one MPI thread, and the step waits after backward for what is still queued or on the wire.
///
/// While a bucket is in flight during backward the MPI thread competes with compute for the rank's cores: a blocking
/// MPI collective polls until it completes, so the thread occupies a core for the whole transfer, not only for its
/// copies and sums. `computeRate` is then the pace of backward (and of the collective's CPU work), 1 when
/// communication takes no core from compute.
struct BucketTimeline {
    struct Bucket {
        /// Share of backward done when the bucket's last gradient is final (1: after backward).
        var readyAfter: Double
        /// Seconds on its own (after backward, nothing else running) and while backward runs beside it.
        var alone: Double
        var beside: Double
    }

    /// Wall seconds backward takes with the buckets sent during it, and seconds the step waits after it.
    let backwardSeconds: Double
    let waitAfterBackward: Double

    /// Plays `buckets` against `backward` seconds of backward work; the buckets are sent in the order they become ready.
    init(buckets: [Bucket], backward: Double, computeRate: Double) {
        let queue = buckets.enumerated().sorted { ($0.element.readyAfter, $0.offset) < ($1.element.readyAfter, $1.offset) }.map(\.element)
        var clock = 0.0, work = 0.0, launched = 0, current = 0
        var left = 1.0  // share of the bucket `current` not yet sent
        var backwardEnd: Double?
        func isReady(_ bucket: Bucket) -> Bool { bucket.readyAfter >= 1 ? work >= backward : bucket.readyAfter * backward <= work }
        while true {
            while launched < queue.count && isReady(queue[launched]) { launched += 1 }
            let running = work < backward
            if !running, backwardEnd == nil { backwardEnd = clock }
            let inFlight = current < launched
            if !running && current == queue.count { break }
            let duration = inFlight ? (running ? queue[current].beside : queue[current].alone) : 0
            if inFlight && duration <= 0 { current += 1; continue }
            let rate = inFlight ? computeRate : 1
            var step = inFlight ? left * duration : Double.infinity
            if running {
                // The next bucket's readiness or the end of backward, whichever comes first (exactly, so it is not missed).
                let next = launched < queue.count && queue[launched].readyAfter < 1 ? queue[launched].readyAfter * backward : backward
                if (next - work) / rate <= step { step = (next - work) / rate; work = next } else { work += rate * step }
            }
            if inFlight {
                left -= step / duration
                if left <= 1e-9 { current += 1; left = 1 }
            }
            clock += step
        }
        backwardSeconds = backwardEnd ?? clock
        waitAfterBackward = clock - backwardSeconds
    }
}
