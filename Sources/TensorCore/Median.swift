extension Array where Element == Double {
    /// The median (the mean of the two middle values for an even count; 0 for no values): how the benchmarks and step
    /// timers summarise repeated timings, which one slow outlier must not move.
    public var median: Double {
        let sorted = self.sorted(), n = sorted.count
        guard n > 0 else { return 0 }
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }
}
