/// A group of parameters whose gradients are all-reduced together.
public struct GradientBucket: Equatable, Sendable {
    /// Parameter indices in the order backward finishes them (reverse registration order).
    public let parameters: [Int]
    /// Total gradient elements of the bucket's parameters.
    public let elementCount: Int
    /// The flat-buffer range the bucket covers when its parameters are adjacent in memory; nil otherwise.
    public let contiguousRange: Range<Int>?
}

/// How parameters are grouped into buckets: by size, over parameters in reverse registration order.
///
/// Backward produces the last-registered parameters' gradients first, so reverse order lets the
/// first bucket start communicating while backward still runs. Registering parameters in the order
/// they are laid out in the flat gradient buffer makes every bucket a contiguous range, reduced in
/// place without copies.
public struct GradientBucketPlan: Equatable, Sendable {
    public let buckets: [GradientBucket]
    /// `bucketOfParameter[i]` is the index in `buckets` of parameter i.
    public let bucketOfParameter: [Int]

    /// Groups parameters into buckets that each reach at least `bucketBytes` (the last may be smaller).
    /// - Parameter layout: parameter i's gradient occupies `[offset, offset + count)` of the flat buffer.
    public init(layout: [(offset: Int, count: Int)], bucketBytes: Int) throws {
        guard bucketBytes > 0 else { throw DistributedError.invalidArgument("bucket size must be positive, got \(bucketBytes) bytes") }
        try Self.validate(layout)
        var buckets: [GradientBucket] = []
        var bucketOfParameter = [Int](repeating: 0, count: layout.count)
        var current: [Int] = []
        var currentElements = 0
        func close() {
            guard !current.isEmpty else { return }
            buckets.append(GradientBucket(parameters: current, elementCount: currentElements,
                                          contiguousRange: Self.contiguousRange(of: current, in: layout)))
            current = []
            currentElements = 0
        }
        for parameter in layout.indices.reversed() {
            bucketOfParameter[parameter] = buckets.count
            current.append(parameter)
            currentElements += layout[parameter].count
            if currentElements * MemoryLayout<Float>.stride >= bucketBytes { close() }
        }
        close()
        self.buckets = buckets
        self.bucketOfParameter = bucketOfParameter
    }

    /// Lays parameters out back to back in registration order, which makes every bucket a
    /// contiguous range of the flat buffer (reduced in place); returns the layout and total size.
    public static func packedLayout(parameterCounts: [Int]) -> (layout: [(offset: Int, count: Int)], totalCount: Int) {
        var offset = 0
        let layout = parameterCounts.map { count -> (offset: Int, count: Int) in
            defer { offset += count }
            return (offset, count)
        }
        return (layout, offset)
    }

    /// The single range covered by `parameters` when they tile it without gaps, else nil.
    static func contiguousRange(of parameters: [Int], in layout: [(offset: Int, count: Int)]) -> Range<Int>? {
        guard let first = parameters.first else { return nil }
        var lower = layout[first].offset
        var upper = lower + layout[first].count
        var total = 0
        for p in parameters {
            lower = Swift.min(lower, layout[p].offset)
            upper = Swift.max(upper, layout[p].offset + layout[p].count)
            total += layout[p].count
        }
        // Parameters never overlap (checked in validate), so equal sizes mean no gaps.
        return upper - lower == total ? lower..<upper : nil
    }

    /// Rejects negative or overlapping parameter ranges, which would corrupt or double-reduce gradients.
    static func validate(_ layout: [(offset: Int, count: Int)]) throws {
        for (i, entry) in layout.enumerated() where entry.offset < 0 || entry.count < 0 {
            throw DistributedError.invalidArgument("parameter \(i) has offset \(entry.offset) and count \(entry.count)")
        }
        let order = layout.indices.filter { layout[$0].count > 0 }.sorted { layout[$0].offset < layout[$1].offset }
        for (a, b) in zip(order, order.dropFirst()) where layout[a].offset + layout[a].count > layout[b].offset {
            throw DistributedError.invalidArgument("parameters \(a) and \(b) overlap in the gradient buffer")
        }
    }
}
